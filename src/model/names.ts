// The name formats the Kubernetes API server enforces, as checks that return the
// first problem as a message (or undefined when the value is fine). Messages say
// what is wrong and show the rule, so a user can fix the value without a manual.

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

export const DNS1123_LABEL_MAX = 63;
export const DNS1123_SUBDOMAIN_MAX = 253;
export const IANA_SVC_NAME_MAX = 15;
export const LABEL_VALUE_MAX = 63;

function tooLong(value: string, max: number): string | undefined {
  return value.length > max ? `must be no more than ${max} characters` : undefined;
}

/** RFC 1123 label: namespaces, Service port names, EndpointSlice port names. */
export function dns1123LabelError(value: string): string | undefined {
  if (value.length === 0) return 'must not be empty';
  return (
    tooLong(value, DNS1123_LABEL_MAX) ??
    (DNS1123_LABEL.test(value)
      ? undefined
      : "must be a lowercase RFC 1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit (e.g. 'my-name' or '123-abc')")
  );
}

/** RFC 1035 label: Service names (they become DNS names, so they must start with a letter). */
export function dns1035LabelError(value: string): string | undefined {
  if (value.length === 0) return 'must not be empty';
  return (
    tooLong(value, DNS1123_LABEL_MAX) ??
    (DNS1035_LABEL.test(value)
      ? undefined
      : "must be a DNS-1035 label: lowercase letters, digits and '-', starting with a letter and ending with a letter or digit (e.g. 'my-name' or 'abc-123')")
  );
}

/** RFC 1123 subdomain: object names such as EndpointSlices and Nodes, ExternalName targets. */
export function dns1123SubdomainError(value: string): string | undefined {
  if (value.length === 0) return 'must not be empty';
  return (
    tooLong(value, DNS1123_SUBDOMAIN_MAX) ??
    (DNS1123_SUBDOMAIN.test(value)
      ? undefined
      : "must be a lowercase RFC 1123 subdomain: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit (e.g. 'example.com')")
  );
}

/**
 * IANA_SVC_NAME (RFC 6335): a named targetPort, i.e. a container port name. At most
 * 15 characters, lowercase letters, digits and '-', at least one letter, no '-' at
 * either end and no '--'. The letter rule keeps "8080" from passing as a name.
 */
export function ianaSvcNameError(value: string): string | undefined {
  if (value.length === 0) return 'must not be empty';
  if (value.length > IANA_SVC_NAME_MAX) return `must be no more than ${IANA_SVC_NAME_MAX} characters`;
  if (!/^[-a-z0-9]+$/.test(value)) return "must contain only lowercase letters, digits and '-'";
  if (!/[a-z]/.test(value)) return 'must contain at least one letter (a-z)';
  if (value.includes('--')) return "must not contain consecutive '-'";
  if (value.startsWith('-') || value.endsWith('-')) return "must not begin or end with '-'";
  return undefined;
}

/**
 * Qualified name: `[prefix/]name`, the prefix a DNS subdomain, the name at most 63
 * alphanumerics, '-', '_' or '.' starting and ending alphanumeric. Label keys,
 * annotation keys, loadBalancerClass and appProtocol use it.
 */
export function qualifiedNameError(value: string): string | undefined {
  // By index, not split: every label and annotation key read comes through here.
  const slash = value.indexOf('/');
  let name: string;
  if (slash < 0) {
    name = value;
  } else if (value.indexOf('/', slash + 1) < 0) {
    const prefix = value.slice(0, slash);
    name = value.slice(slash + 1);
    if (prefix.length === 0) return 'prefix part (before the /) must not be empty';
    const e = dns1123SubdomainError(prefix);
    if (e) return `prefix part ${e}`;
  } else {
    return "must be a qualified name: an optional DNS subdomain prefix and '/', then a name (e.g. 'example.com/my-name')";
  }
  if (name.length === 0) return 'name part must not be empty';
  if (name.length > DNS1123_LABEL_MAX) return `name part must be no more than ${DNS1123_LABEL_MAX} characters`;
  if (!QUALIFIED_NAME_PART.test(name)) {
    return "name part must consist of alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric (e.g. 'MyName', 'my.name' or '123-abc')";
  }
  return undefined;
}

/** Label value: empty, or up to 63 alphanumerics, '-', '_' or '.', starting and ending alphanumeric. */
export function labelValueError(value: string): string | undefined {
  return (
    tooLong(value, LABEL_VALUE_MAX) ??
    (LABEL_VALUE.test(value)
      ? undefined
      : "must be empty or consist of alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric (e.g. 'MyValue' or 'my_value')")
  );
}
