// What collectInputs does with a bad object: with `strict`, the first one throws its
// InputError; without it, the error is remembered (and the Service it belongs to
// named) and reading goes on, so one bad object cannot stop the rest.

import { isInputError, type InputError } from '../model/errors.js';
import { isJsonObject } from '../model/json-fields.js';

export class InputProblems {
  readonly warnings: string[] = [];
  readonly errors: InputError[] = [];
  /** namespace/name of the Services whose Service or EndpointSlice was skipped (undefined: could not be told). */
  readonly skipped = new Set<string | undefined>();

  constructor(private readonly strict: boolean) {}

  /** Strict: throw. Otherwise: remember and go on. Anything but an InputError is a bug: thrown. */
  bad(e: unknown): void {
    if (!isInputError(e)) throw e;
    if (this.strict) throw e;
    this.errors.push(e);
  }

  /** f's result, or undefined when it threw an InputError (recorded by `bad`). */
  attempt<T>(f: () => T): T | undefined {
    try {
      return f();
    } catch (e) {
      this.bad(e);
      return undefined;
    }
  }
}

/** The Service a raw (possibly malformed) Service or EndpointSlice belongs to, when it can be told. */
export function rawServiceKey(o: unknown, kind: 'Service' | 'EndpointSlice'): string | undefined {
  if (!isJsonObject(o) || !isJsonObject(o.metadata)) return undefined;
  const m = o.metadata;
  const ns = typeof m.namespace === 'string' && m.namespace ? m.namespace : 'default';
  if (kind === 'Service') return typeof m.name === 'string' ? `${ns}/${m.name}` : undefined;
  const labels = isJsonObject(m.labels) ? m.labels : {};
  const svc = labels['kubernetes.io/service-name'];
  return typeof svc === 'string' ? `${ns}/${svc}` : undefined;
}
