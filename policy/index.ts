import { PolicyPack } from "@pulumi/policy";
import { haPolicies } from "./policies/ha";
import { hygienePolicies } from "./policies/hygiene";
import { redisPolicies } from "./policies/redis";
import { reliabilityPolicies } from "./policies/reliability";
import { securityPolicies } from "./policies/security";

new PolicyPack("amalgam8-ha", {
    policies: [...haPolicies, ...redisPolicies, ...reliabilityPolicies, ...securityPolicies, ...hygienePolicies],
});
