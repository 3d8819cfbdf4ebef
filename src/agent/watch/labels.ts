// Well-known labels the watch layer selects on.

/** Set by the endpointslice controller on the slices of headless Services. */
export const HEADLESS_SERVICE_LABEL = 'service.kubernetes.io/headless';
