// Which Services get rules (model/render-input.ts): proxiedWhere is proxiedServices of the
// Services a test passes, in the plan's order, in both modes.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PROXY_MODES, proxiedServices, proxiedWhere } from '../../src/model/render-input.js';
import { plan, port, svc } from '../helpers/model.js';

test('proxiedWhere equals proxiedServices filtered by the test, in the plan order, in both modes', () => {
  const services = [
    svc({ name: 'a-udp', clusterIPs: ['10.96.0.1'], ports: [port(53, 53, { protocol: 'UDP' })] }),
    svc({ name: 'b-tcp', clusterIPs: ['10.96.0.2'], ports: [port(80)] }),
    svc({ name: 'c-headless', clusterIPs: [], headless: true, ports: [port(53, 53, { protocol: 'UDP' })] }),
    svc({ name: 'd-external', type: 'ExternalName', clusterIPs: [], ports: [port(53, 53, { protocol: 'UDP' })] }),
    svc({ name: 'e-unlabelled', proxyName: undefined, clusterIPs: ['10.96.0.5'], ports: [port(53, 53, { protocol: 'UDP' })] }),
    svc({ name: 'f-other-proxy', proxyName: 'kube-proxy', clusterIPs: ['10.96.0.6'], ports: [port(53, 53, { protocol: 'UDP' })] }),
    svc({ name: 'g-udp', clusterIPs: ['10.96.0.7'], ports: [port(80), port(53, 53, { protocol: 'UDP' })] }),
  ];
  const p = plan(services);
  const udp = (s: (typeof services)[number]) => s.ports.some((x) => x.protocol === 'UDP');
  for (const mode of PROXY_MODES) {
    assert.deepEqual(proxiedWhere({ plan: p, mode }, udp), proxiedServices(p, mode).filter(udp), mode);
    assert.deepEqual(proxiedWhere({ plan: p, mode }, () => true), proxiedServices(p, mode), mode);
  }
  assert.deepEqual(proxiedWhere({ plan: p, mode: 'coexist' }, udp).map((s) => s.name), ['a-udp', 'g-udp']);
  assert.deepEqual(proxiedWhere({ plan: p, mode: 'replace' }, udp).map((s) => s.name), ['a-udp', 'e-unlabelled', 'g-udp']);
});
