// spec.ports of a Service: names, numbers, protocols, targetPorts, nodePorts, and
// their uniqueness. The node port range is the API server's configuration
// (allocation); a nodePort on a type without node ports does not apply.

import { childPath, indexPath, isJsonObject, notSupported, type JsonObject } from './json-fields.js';
import { dns1123LabelError, ianaSvcNameError, qualifiedNameError } from './names.js';
import type { ServiceRules } from './validate-service-rules.js';

export const PROTOCOLS = ['TCP', 'UDP', 'SCTP'] as const;
export const PORT_RANGE_MSG = 'must be between 1 and 65535, inclusive';

export function validPort(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && n <= 65535;
}

export interface ServiceObjectPort {
  readonly name: string;
  readonly protocol: string;
  readonly port: number;
  /** Defaulted to `port` when absent, 0 or ''. */
  readonly targetPort: number | string;
  readonly nodePort?: number;
  readonly appProtocol?: string;
}

export interface PortFacts {
  readonly root: JsonObject;
  readonly spec: JsonObject;
  readonly type: string;
  readonly headless: boolean;
  readonly range: { readonly min: number; readonly max: number };
}

export function readServicePorts(rules: ServiceRules, f: PortFacts): ServiceObjectPort[] {
  const r = rules.reader;
  const { spec, type } = f;
  const noNodePorts = type === 'ClusterIP' || type === 'ExternalName';
  const portsRaw = r.array(spec.ports, 'spec.ports') ?? [];
  const ports: ServiceObjectPort[] = [];
  const portNames = new Set<string>();
  portsRaw.forEach((pv, i) => {
    const path = indexPath('spec.ports', i);
    const p = r.object(pv, path);
    if (!p) {
      if (pv === null) rules.refuse(path, 'must be an object, not null');
      return;
    }
    // Names match a Service port to its EndpointSlice ports: ambiguity cannot be forwarded.
    const pname = r.string(p.name, childPath(path, 'name')) ?? '';
    if (pname === '') {
      if (portsRaw.length > 1) rules.refuse(childPath(path, 'name'), 'is required when the Service has more than one port');
    } else {
      rules.refuse(childPath(path, 'name'), dns1123LabelError(pname));
      if (portNames.has(pname)) rules.refuse(childPath(path, 'name'), `duplicate port name ${JSON.stringify(pname)}`);
      portNames.add(pname);
    }
    const portNum = r.integer(p.port, childPath(path, 'port'));
    if (p.port === undefined || p.port === null) rules.refuse(childPath(path, 'port'), 'is required');
    else if (portNum !== undefined && !validPort(portNum)) rules.refuse(childPath(path, 'port'), PORT_RANGE_MSG);
    const protocol = r.string(p.protocol, childPath(path, 'protocol')) || 'TCP';
    if (!(PROTOCOLS as readonly string[]).includes(protocol)) rules.refuse(childPath(path, 'protocol'), notSupported(protocol, PROTOCOLS));
    let targetPort = r.intOrString(p.targetPort, childPath(path, 'targetPort'));
    if (targetPort === undefined || targetPort === 0 || targetPort === '') {
      targetPort = portNum ?? 0;
    } else if (typeof targetPort === 'number') {
      if (!validPort(targetPort)) rules.refuse(childPath(path, 'targetPort'), PORT_RANGE_MSG);
    } else {
      rules.refuse(childPath(path, 'targetPort'), ianaSvcNameError(targetPort));
    }
    const nodePortRaw = r.integer(p.nodePort, childPath(path, 'nodePort'));
    let nodePort = nodePortRaw === 0 ? undefined : nodePortRaw;
    if (nodePort !== undefined) {
      const field = childPath(path, 'nodePort');
      if (noNodePorts) {
        if (rules.notApplicable(field, `may not be used when type is ${type}`)) nodePort = undefined;
      } else if (!validPort(nodePort)) {
        rules.refuse(field, PORT_RANGE_MSG);
      } else if (nodePort < f.range.min || nodePort > f.range.max) {
        rules.allocation(field, `must be in the node port range ${f.range.min}-${f.range.max}`);
      }
    }
    // A hint for L7 proxies; nothing a node's rules use.
    let appProtocol = r.string(p.appProtocol, childPath(path, 'appProtocol'));
    if (appProtocol !== undefined) {
      const e = qualifiedNameError(appProtocol);
      if (e && rules.notApplicable(childPath(path, 'appProtocol'), e)) appProtocol = undefined;
    }
    // Assigned, not spread: a literal with conditional spreads is copied key by key at
    // run time (V8's slow path), once per port of every Service read.
    const out: { -readonly [K in keyof ServiceObjectPort]: ServiceObjectPort[K] } = { name: pname, protocol, port: portNum ?? 0, targetPort };
    if (nodePort !== undefined) out.nodePort = nodePort;
    if (appProtocol !== undefined) out.appProtocol = appProtocol;
    ports.push(out);
  });
  // A spec or ports of the wrong type is already reported; "no ports" would only repeat it.
  const portsWellTyped = (f.root.spec === undefined || f.root.spec === null || isJsonObject(f.root.spec)) && (spec.ports == null || Array.isArray(spec.ports));
  if (portsRaw.length === 0 && !f.headless && type !== 'ExternalName' && portsWellTyped) {
    // Nothing to forward, but nothing unsafe either: the Service gets no rules.
    rules.notApplicable('spec.ports', 'at least one port is required');
  }
  checkUnique(rules, ports);
  return ports;
}

/** Uniqueness is per (port, protocol) and per (nodePort, protocol): TCP 53 and UDP 53 may share. Two rules for one packet are refused. */
function checkUnique(rules: ServiceRules, ports: readonly ServiceObjectPort[]): void {
  const seenPorts = new Map<string, number>();
  const seenNodePorts = new Map<string, number>();
  ports.forEach((p, i) => {
    const k = `${p.port}/${p.protocol}`;
    const first = seenPorts.get(k);
    if (first !== undefined) rules.refuse(indexPath('spec.ports', i), `duplicate port ${k} (also spec.ports[${first}])`);
    else seenPorts.set(k, i);
    if (p.nodePort !== undefined) {
      const nk = `${p.nodePort}/${p.protocol}`;
      const nfirst = seenNodePorts.get(nk);
      if (nfirst !== undefined) rules.refuse(childPath(indexPath('spec.ports', i), 'nodePort'), `duplicate nodePort ${nk} (also spec.ports[${nfirst}].nodePort)`);
      else seenNodePorts.set(nk, i);
    }
  });
}
