import { PolicyPack } from "@pulumi/policy";
import { CATALOGUE, enginePolicy } from "./catalogue";
import { shareDeserializedInputs } from "./lib/deserializeOnce";

shareDeserializedInputs();

new PolicyPack("amalgam8-ha", {
    policies: CATALOGUE.map(enginePolicy),
});
