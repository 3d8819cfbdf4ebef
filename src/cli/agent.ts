// `svcplane agent`: the node agent. Runs until SIGTERM/SIGINT, then stops watching
// and serving and exits 0, leaving the rules in the kernel.

import { access, constants } from 'node:fs/promises';
import { hostname } from 'node:os';
import type { Command } from 'commander';
import { pino } from 'pino';
import { Agent } from '../agent/agent.js';
import { LOG_LEVELS, logSettings } from '../agent/log-level.js';
import { assertCapabilities } from '../agent/capabilities.js';
import { applyConntrackSysctls, realSysctlIO } from '../agent/conntrack-sysctls.js';
import { ListenError, parseHostPort, type HostPort } from '../agent/http.js';
import type { KubeClient } from '../agent/watch/kube-client.js';
import { missingAgentNodeOptions } from '../agent/node-options.js';
import { largeInputAtStart, releaseOptimizer, watchForBusyCpu } from '../agent/jit-policy.js';
import { COEXIST_PORTS, defaultAddresses, KUBE_PROXY_PORTS } from '../agent/ports.js';
import { MAX_ENDPOINT_SERIES, TRAFFIC_METRICS_LEVELS, type TrafficMetricsLevel } from '../agent/traffic-metrics.js';
import { AGENT_BACKEND_NAMES, getAgentBackend } from '../backends/registry.js';
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
  healthAddr?: string;
  metricsAddr?: string;
  udpIdleTimeout?: string;
  trafficMetrics: string;
  logLevel?: string;
  v?: string;
}

const collect = (v: string, prev: string[]) => [...prev, v];

function usage(flag: string, message: string): Error {
  return inputError(undefined, flag, message);
}

export function registerAgent(program: Command): void {
  program
    .command('agent')
    .description('keep this node\'s rules equal to plan + current endpoints (runs until SIGTERM)')
    .requiredOption('--backend <name>', `the backend: ${AGENT_BACKEND_NAMES.join(' | ')} (userspace: the agent relays the traffic itself)`)
    .option('--plan <file>', 'plan.json (the ConfigMap mount); reloaded when it changes')
    .option('--config <file>', 'a KubeProxyConfiguration (syncPeriod, minSyncPeriod, clusterCIDR, ...)')
    .option('--kubeconfig <file>', 'kubeconfig for the API server (default: in-cluster when running in a pod)')
    .option('--endpoints-file <path>', 'offline mode: EndpointSlice manifests (file or folder), watched; repeatable', collect, [])
    .option('--node-name <name>', 'this node (default: hostnameOverride, else the hostname)')
    .option('--node-ip <ip>', "the node's IP; repeatable (overrides the Node's addresses)", collect, [])
    .option('--mode <mode>', `which Services are ours: ${PROXY_MODES.join(' | ')}`, 'coexist')
    .option('--health-addr <host:port>', `serve /healthz and /livez here (default: healthzBindAddress from --config, else 0.0.0.0:${COEXIST_PORTS.health} in coexist mode, kube-proxy's 0.0.0.0:${KUBE_PROXY_PORTS.health} in replace mode)`)
    .option('--metrics-addr <host:port>', `serve /metrics here (default: metricsBindAddress from --config, else 127.0.0.1:${COEXIST_PORTS.metrics} in coexist mode, kube-proxy's 127.0.0.1:${KUBE_PROXY_PORTS.metrics} in replace mode)`)
    .option('--log-level <level>', `${LOG_LEVELS.join(' | ')} (default: from -v, else logging.verbosity in --config, else info)`)
    .option('-v, --v <n>', "kube-proxy's klog verbosity, mapped: 0-1 info, 2 info with the Services each sync changed, 3-4 debug, 5+ trace")
    .option('--udp-idle-timeout <seconds>', 'userspace backend: a UDP session ends after this long without a datagram (default 30)')
    .option('--traffic-metrics <level>', `what /metrics exports of the rules' traffic counters: ${TRAFFIC_METRICS_LEVELS.join(' | ')} (per Service port and the first ${MAX_ENDPOINT_SERIES} endpoints; per Service port only; none, and no kernel read at a scrape)`, 'endpoints')
    .action(async (flags: AgentFlags) => {
      const backend = getAgentBackend(flags.backend);
      let udpIdleTimeoutMs: number | undefined;
      if (flags.udpIdleTimeout !== undefined) {
        if (!backend.relaysUdp) throw usage('--udp-idle-timeout', `the ${backend.name} backend does not relay UDP itself`);
        const s = Number(flags.udpIdleTimeout);
        if (!(s > 0) || !Number.isFinite(s)) throw usage('--udp-idle-timeout', `${JSON.stringify(flags.udpIdleTimeout)} is not a positive number of seconds`);
        udpIdleTimeoutMs = Math.round(s * 1000);
      }
      if (!PROXY_MODES.includes(flags.mode as ProxyMode)) throw usage('--mode', `must be one of ${PROXY_MODES.join(', ')}`);
      if (!TRAFFIC_METRICS_LEVELS.includes(flags.trafficMetrics as TrafficMetricsLevel)) throw usage('--traffic-metrics', `must be one of ${TRAFFIC_METRICS_LEVELS.join(', ')}`);
      for (const ip of flags.nodeIp) if (!isIP(ip)) throw usage('--node-ip', `${JSON.stringify(ip)} is not an IP address`);
      const offline = flags.endpointsFile.length > 0;
      if (offline && flags.kubeconfig) throw usage('--endpoints-file', 'offline mode takes no --kubeconfig');
      let kubeConfig: KubeClient | undefined;
      if (!offline) {
        kubeConfig = await apiKubeConfig(flags.kubeconfig);
      } else if (!flags.plan) {
        throw usage('--plan', 'offline mode (--endpoints-file) needs --plan: there is no API server to list Services');
      }
      // A plan that cannot be read is bad input naming the flag (exit 2), not a runtime failure.
      if (flags.plan) await access(flags.plan, constants.R_OK).catch((e: NodeJS.ErrnoException) => {
        throw usage('--plan', `${JSON.stringify(flags.plan)}: ${e.code === 'ENOENT' ? 'no such file' : `cannot read (${e.code ?? e.message})`}`);
      });
      const loaded = flags.config ? await loadInputs([flags.config], { strict: true, backend: flags.backend }) : undefined;
      const config = loaded?.config ?? DEFAULT_PROXY_CONFIG;
      const logging = logSettings(flags, config.logVerbosity);
      const nodeName = (flags.nodeName ?? config.hostnameOverride ?? hostname()).trim().toLowerCase();
      const mode = flags.mode as ProxyMode;
      const healthAddr = bindAddress(flags.healthAddr, '--health-addr', config.healthzBindAddress, 'healthzBindAddress', defaultAddresses(mode).health);
      const metricsAddr = bindAddress(flags.metricsAddr, '--metrics-addr', config.metricsBindAddress, 'metricsBindAddress', defaultAddresses(mode).metrics);

      assertCapabilities(flags.backend);
      const log = pino({ name: 'svcplane-agent', base: { node: nodeName }, level: logging.level }, pino.destination(2));
      for (const warning of loaded?.warnings ?? []) log.warn({ warning }, 'configuration');
      const missing = missingAgentNodeOptions(process.execArgv, process.env.NODE_OPTIONS);
      if (missing.length) log.info({ missing }, 'started without the node options the image gives the agent (NODE_OPTIONS); it then uses more memory');
      // Large input is known before it is parsed: the optimising compiler is on for that.
      const large = await largeInputAtStart(flags.plan, flags.endpointsFile);
      if (large && releaseOptimizer()) log.info({ why: large }, 'optimising compiler on');
      watchForBusyCpu(() => log.info({ why: 'busy CPU' }, 'optimising compiler on'));
      // kube-proxy's conntrack settings; what cannot be written is logged, never fatal.
      await applyConntrackSysctls(config.conntrack, realSysctlIO, log);
      const agent = new Agent({
        backend: flags.backend,
        mode,
        nodeName,
        nodeIPs: flags.nodeIp,
        ...(flags.plan ? { planFile: flags.plan } : {}),
        config,
        ...(kubeConfig ? { kubeConfig } : {}),
        endpointsFiles: flags.endpointsFile,
        healthAddr,
        metricsAddr,
        log,
        logDetail: logging.detail,
        ...(udpIdleTimeoutMs ? { udpIdleTimeoutMs } : {}),
        trafficMetrics: flags.trafficMetrics as TrafficMetricsLevel,
      });
      const stopped = new Promise<string>((resolve) => {
        // process.on, never once, and never removed: execa's signal-exit kills the
        // running kernel tool and re-raises the signal (exit 143, no "stopping") when
        // its own listener is the last one left for that signal. A sync under way is
        // left to finish (scheduler.stop waits for it); a second signal changes nothing.
        const onSignal = (signal: NodeJS.Signals) => resolve(signal);
        process.on('SIGTERM', onSignal);
        process.on('SIGINT', onSignal);
      });
      // A signal while still waiting for the API server stops too.
      let signal: string;
      try {
        signal = await Promise.race([agent.start().then(() => stopped), stopped]);
      } catch (e) {
        await agent.stop();
        if (e instanceof ListenError) {
          const flag = e.at === healthAddr ? '--health-addr' : '--metrics-addr';
          throw new Error(`${flag}: ${e.message}`);
        }
        throw e;
      }
      log.info({ signal }, 'stopping');
      await agent.stop();
      process.exitCode = 0;
      // Safety net: a library handle left open must not keep a stopped agent alive.
      setTimeout(() => process.exit(0), 3000).unref();
    });
}

/** The flag, else the KubeProxyConfiguration's field (HOST:PORT, checked when loaded), else the mode's default. */
function bindAddress(flag: string | undefined, flagName: string, fromConfig: string | undefined, field: string, fallback: string): HostPort {
  if (flag !== undefined) return parseHostPort(flag, flagName);
  if (fromConfig !== undefined && fromConfig !== '') return parseHostPort(fromConfig, `--config: ${field}`);
  return parseHostPort(fallback, flagName);
}

/**
 * How the agent reaches the API server: --kubeconfig, else the in-cluster config,
 * whose server is https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT. The
 * kubelet sets those to the `kubernetes` Service's ClusterIP, which in replace mode
 * only this agent programs; the NodeAgent's apiServerEndpoint prop sets them to the
 * API server's own address instead (explicit env wins over the kubelet's).
 */
export async function apiKubeConfig(kubeconfig: string | undefined): Promise<KubeClient> {
  // API mode only: an offline agent does not load the client, nor yaml with the kubeconfig reader (~2 MB of RSS).
  const [{ KubeClient }, { inClusterEndpoint, loadKubeconfigFile }] = await Promise.all([import('../agent/watch/kube-client.js'), import('../agent/watch/kubeconfig.js')]);
  const endpoint = kubeconfig ? loadKubeconfigFile(kubeconfig) : inClusterEndpoint();
  if (!endpoint) throw usage('--kubeconfig', 'no API server: give --kubeconfig, run in a pod, or use --endpoints-file');
  return new KubeClient(endpoint);
}
