// Errors about input: they name the object and the field, and map to exit code 2.

/** The object an error is about: a Kubernetes object, a construct, or a file. */
export interface ObjectRef {
  readonly kind: string;
  readonly namespace?: string;
  readonly name?: string;
}

export function formatRef(ref: ObjectRef): string {
  const ns = ref.namespace ? `${ref.namespace}/` : '';
  return ref.name !== undefined ? `${ref.kind} ${ns}${ref.name}` : ref.kind;
}

/** One problem with one field, e.g. `spec.ports[1].nodePort: must be in 30000-32767`. */
export interface FieldIssue {
  readonly field: string;
  readonly message: string;
}

export function formatIssues(issues: readonly FieldIssue[]): string {
  return issues.map((i) => `${i.field}: ${i.message}`).join('; ');
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
      `${source ? `${source}: ` : ''}${ref ? `${formatRef(ref)}: ` : ''}${formatIssues(issues)}`,
    );
  }
}

export function inputError(ref: ObjectRef | undefined, field: string, message: string, source?: string): InputError {
  return new InputError(ref, [{ field, message }], source);
}

export function isInputError(e: unknown): e is InputError {
  return e instanceof InputError;
}
