/** Server version reported by every HealthCheck of the baaaht services. */
export const BAAAHT_SERVER_VERSION = "baton-server/baaaht 0.1.0";
/** Response header of GetStatus and HealthCheck naming the container runtime. */
export const CONTAINER_RUNTIME_HEADER = "baaaht-container-runtime";
