// The e2e Service suite against the iptables backend.
import { runServiceSuite } from './suite/service-suite.js';

runServiceSuite({ backend: 'iptables' });
