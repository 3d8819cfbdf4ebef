// `svcplane agent`: the node agent. Runs until SIGTERM/SIGINT, then stops watching
// and serving and exits 0, leaving the rules in the kernel.

import { hostname } from 'node:os';
import { KubeConfig } from '@kubernetes/client-node';
import type { Command } from 'commander';
import { pino } from 'pino';
import { Agent } from '../agent/agent.js';
import { AGENT_ONLY_BACKENDS } from '../agent/rules-syncer.js';
import { parseHostPort } from '../agent/http.js';
import { KNOWN_BACKEND_NAMES, getBackend } from '../backends/registry.js';
import { loadInputs } from '../manifests/load.js';
import { DEFAULT_PROXY_CONFIG } from '../model/config.js';
import { inputError } from '../model/errors.js';
import { isIP } from '../model/ip.js';
import { PROXY_MODES, type ProxyMode } from '../model/render-input.js';

interface AgentFlags {
  backend: string;
  plan?: string;
  config?: string;
  kubeconfig?: string;
  endpointsFile: string[];
  nodeName?: string;
  nodeIp: string[];
  mode: string;
  healthAddr: string;
  metricsAddr: string;
  udpIdleTimeout?: string;
}

const collect = (v: string, prev: string[]) => [...prev, v];

function usage(flag: string, message: string): Error {
  return inputError(undefined, flag, message);
}

export function registerAgent(program: Command): void {
  program
    .command('agent')
    .description('keep this node\'s rules equal to plan + current endpoints (runs until SIGTERM)')
    .requiredOption('--backend <name>', `the backend: ${[...KNOWN_BACKEND_NAMES, ...AGENT_ONLY_BACKENDS].join(' | ')} (userspace: the agent relays the traffic itself)`)
    .option('--plan <file>', 'plan.json (the ConfigMap mount); reloaded when it changes')
    .option('--config <file>', 'a KubeProxyConfiguration (syncPeriod, minSyncPeriod, clusterCIDR, ...)')
    .option('--kubeconfig <file>', 'kubeconfig for the API server (default: in-cluster when running in a pod)')
    .option('--endpoints-file <path>', 'offline mode: EndpointSlice manifests (file or folder), watched; repeatable', collect, [])
    .option('--node-name <name>', 'this node (default: hostnameOverride, else the hostname)')
    .option('--node-ip <ip>', "the node's IP; repeatable (overrides the Node's addresses)", collect, [])
    .option('--mode <mode>', `which Services are ours: ${PROXY_MODES.join(' | ')}`, 'coexist')
    .option('--health-addr <host:port>', 'serve /healthz and /livez here', '0.0.0.0:10256')
    .option('--metrics-addr <host:port>', 'serve /metrics here', '127.0.0.1:10249')
    .option('--udp-idle-timeout <seconds>', 'userspace backend: a UDP session ends after this long without a datagram (default 30)')
    .action(async (flags: AgentFlags) => {
      const agentOnly = (AGENT_ONLY_BACKENDS as readonly string[]).includes(flags.backend);
      if (!agentOnly) getBackend(flags.backend);
      let udpIdleTimeoutMs: number | undefined;
      if (flags.udpIdleTimeout !== undefined) {
        if (flags.backend !== 'userspace') throw usage('--udp-idle-timeout', 'only the userspace backend relays UDP itself');
        const s = Number(flags.udpIdleTimeout);
        if (!(s > 0) || !Number.isFinite(s)) throw usage('--udp-idle-timeout', `${JSON.stringify(flags.udpIdleTimeout)} is not a positive number of seconds`);
        udpIdleTimeoutMs = Math.round(s * 1000);
      }
      if (!PROXY_MODES.includes(flags.mode as ProxyMode)) throw usage('--mode', `must be one of ${PROXY_MODES.join(', ')}`);
      for (const ip of flags.nodeIp) if (!isIP(ip)) throw usage('--node-ip', `${JSON.stringify(ip)} is not an IP address`);
      const healthAddr = parseHostPort(flags.healthAddr, '--health-addr');
      const metricsAddr = parseHostPort(flags.metricsAddr, '--metrics-addr');
      const offline = flags.endpointsFile.length > 0;
      if (offline && flags.kubeconfig) throw usage('--endpoints-file', 'offline mode takes no --kubeconfig');
      let kubeConfig: KubeConfig | undefined;
      if (!offline) {
        kubeConfig = new KubeConfig();
        if (flags.kubeconfig) kubeConfig.loadFromFile(flags.kubeconfig);
        else if (process.env.KUBERNETES_SERVICE_HOST) kubeConfig.loadFromCluster();
        else throw usage('--kubeconfig', 'no API server: give --kubeconfig, run in a pod, or use --endpoints-file');
      } else if (!flags.plan) {
        throw usage('--plan', 'offline mode (--endpoints-file) needs --plan: there is no API server to list Services');
      }
      const config = flags.config ? (await loadInputs([flags.config], { strict: true, backend: flags.backend })).config : DEFAULT_PROXY_CONFIG;
      const nodeName = (flags.nodeName ?? config.hostnameOverride ?? hostname()).trim().toLowerCase();

      const log = pino({ name: 'svcplane-agent', base: { node: nodeName } }, pino.destination(2));
      const agent = new Agent({
        backend: flags.backend,
        mode: flags.mode as ProxyMode,
        nodeName,
        nodeIPs: flags.nodeIp,
        ...(flags.plan ? { planFile: flags.plan } : {}),
        config,
        ...(kubeConfig ? { kubeConfig } : {}),
        endpointsFiles: flags.endpointsFile,
        healthAddr,
        metricsAddr,
        log,
        ...(udpIdleTimeoutMs ? { udpIdleTimeoutMs } : {}),
      });
      // `on`, not `once`: execa's child cleanup (signal-exit) re-raises a signal when it finds
      // no other listener, and a `once` listener is gone by the time it looks, so a SIGTERM
      // during a sync (an nft/ip child running) killed the agent by the signal instead of exit 0.
      const stopped = new Promise<string>((resolve) => {
        process.on('SIGTERM', () => resolve('SIGTERM'));
        process.on('SIGINT', () => resolve('SIGINT'));
      });
      // A signal while still waiting for the API server stops too.
      const signal = await Promise.race([agent.start().then(() => stopped), stopped]);
      log.info({ signal }, 'stopping');
      await agent.stop();
      process.exitCode = 0;
      // Safety net: a library handle left open must not keep a stopped agent alive.
      setTimeout(() => process.exit(0), 3000).unref();
    });
}
