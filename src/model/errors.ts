// Errors about input: they name the object and the field, and map to exit code 2.

/** The object an error is about: a Kubernetes object, a construct, or a file. */
export interface ObjectRef {
  readonly kind: string;
  readonly namespace?: string;
  readonly name?: string;
}

/**
 * Control characters (C0, DEL, C1, line and paragraph separators, bidi overrides)
 * shown as escapes. Every name or value echoed back in an error or warning passes
 * here: a hostile object name must not move the cursor, colour the terminal, end
 * a log line or reorder what is shown.
 */
export function escapeControl(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => {
    switch (c) {
      case '\n':
        return '\\n';
      case '\r':
        return '\\r';
      case '\t':
        return '\\t';
      default: {
        const code = c.charCodeAt(0);
        return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
      }
    }
  });
}

export function formatRef(ref: ObjectRef): string {
  const ns = ref.namespace ? `${ref.namespace}/` : '';
  return escapeControl(ref.name !== undefined ? `${ref.kind} ${ns}${ref.name}` : ref.kind);
}

/** One problem with one field, e.g. `spec.ports[1].nodePort: must be in 30000-32767`. */
export interface FieldIssue {
  readonly field: string;
  readonly message: string;
}

export function formatIssues(issues: readonly FieldIssue[]): string {
  return issues.map((i) => `${escapeControl(i.field)}: ${escapeControl(i.message)}`).join('; ');
}

/**
 * Bad input: a malformed object, an invalid field, a usage error. The CLI exits 2
 * on it; runtime failures (a kernel tool failing) are plain Errors and exit 1.
 */
export class InputError extends Error {
  override readonly name = 'InputError';
  readonly exitCode = 2;
  constructor(
    readonly ref: ObjectRef | undefined,
    readonly issues: readonly FieldIssue[],
    /** Where the object came from (a file, a construct path), when known. */
    readonly source?: string,
  ) {
    super(
      `${source ? `${escapeControl(source)}: ` : ''}${ref ? `${formatRef(ref)}: ` : ''}${formatIssues(issues)}`,
    );
  }
}

export function inputError(ref: ObjectRef | undefined, field: string, message: string, source?: string): InputError {
  return new InputError(ref, [{ field, message }], source);
}

export function isInputError(e: unknown): e is InputError {
  return e instanceof InputError;
}
