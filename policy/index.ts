import { PolicyPack } from "@pulumi/policy";
import { CATALOGUE } from "./catalogue";

new PolicyPack("amalgam8-ha", {
    policies: CATALOGUE.map((e) => e.policy),
});
