import * as pulumi from "@pulumi/pulumi";

/** The component that registered a resource before the resource moved into a sub-component. */
export interface FormerParent {
    /** It still exists: its URN is part of the old URN. */
    readonly resource: pulumi.Resource;
    /** Its name: the moved resources were named `<name>-<part>`. */
    readonly name: string;
}

/**
 * Options of a child of `parent` that used to be `<former.name>-<formerPart>` under
 * `former.resource`: the alias keeps the old URN as its identity, so `pulumi up` moves it in the
 * state instead of deleting and re-creating the object.
 */
export function movedChild(parent: pulumi.Resource, former: FormerParent, formerPart: string): pulumi.CustomResourceOptions {
    return { parent, aliases: [{ name: `${former.name}-${formerPart}`, parent: former.resource }] };
}
