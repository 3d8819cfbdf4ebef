// The e2e Service suite against the nftables backend.
import { runServiceSuite } from './suite/service-suite.js';

runServiceSuite({ backend: 'nftables' });
