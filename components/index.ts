/** The library surface: the components and the settings they take. */
export { ControlPlane, ControlPlaneArgs } from "./controlPlane";
export { ApiService, ApiServiceArgs } from "./apiService";
export { Redis, RedisArgs } from "./redis/redis";
export { JwtAuth, JwtAuthArgs, signToken } from "./auth";
export { API_SERVICES, CONTROLLER, REGISTRY, ApiServiceProfile } from "./amalgam8";
export * from "./config";
