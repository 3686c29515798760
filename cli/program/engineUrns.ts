/**
 * Resource identities as the Pulumi engine computes them, from a run under the mock monitor. The
 * mock monitor puts only the nearest parent's type into a URN; the engine puts the whole chain
 * (`urn:pulumi:<stack>::<project>::<root type>$...$<parent type>$<type>::<name>`), and a
 * resource keeps an old URN as its identity when one of its aliases (or an alias of an ancestor)
 * resolves to it. `npm run check` shows these URNs; the tests pin them. Pure.
 */
import { RecordedAlias, RecordedResource } from "./runProgram";

/** One resource as the engine would see it. */
export interface EngineIdentity {
    readonly urn: string;
    /** Old URNs that stay this resource's identity: `pulumi up` updates it in place instead of replacing it. */
    readonly aliases: string[];
}

function urnOf(stack: string, project: string, typeChain: string, name: string): string {
    return `urn:pulumi:${stack}::${project}::${typeChain}::${name}`;
}

function typeChainOf(urn: string): string {
    return urn.split("::")[2];
}

/** Engine identities of every recorded resource, by its mock URN. */
export function engineIdentities(resources: readonly RecordedResource[]): Map<string, EngineIdentity> {
    const byMockUrn = new Map(resources.map((r) => [r.urn, r]));
    const identities = new Map<string, EngineIdentity>();
    const resolve = (mockUrn: string, path: string[] = []): EngineIdentity => {
        const known = identities.get(mockUrn);
        if (known) return known;
        const r = byMockUrn.get(mockUrn);
        if (!r) throw new Error(`${path[path.length - 1] ?? mockUrn}: refers to ${mockUrn}, which was never registered`);
        if (path.includes(mockUrn)) throw new Error(`a parent cycle through ${mockUrn}`);
        const [prefix, project] = r.urn.split("::");
        const stack = prefix.slice("urn:pulumi:".length);
        const parent = r.parent ? resolve(r.parent, [...path, mockUrn]) : undefined;
        const chainUnder = (parentUrn: string | undefined, type: string) => (parentUrn ? `${typeChainOf(parentUrn)}$${type}` : type);
        const aliasUrn = (a: RecordedAlias): string => {
            if (a.urn !== undefined) return a.urn;
            const aliasParent = a.noParent ? undefined : a.parent !== undefined ? resolve(a.parent, [...path, mockUrn]).urn : parent?.urn;
            return urnOf(a.stack ?? stack, a.project ?? project, chainUnder(aliasParent, a.type ?? r.type), a.name ?? r.name);
        };
        // As the engine does: a child also answers to its own name under each old URN of its parent.
        const inherited = (parent?.aliases ?? []).map((old) => urnOf(stack, project, chainUnder(old, r.type), r.name));
        const identity = {
            urn: urnOf(stack, project, chainUnder(parent?.urn, r.type), r.name),
            aliases: [...new Set([...r.aliases.map(aliasUrn), ...inherited])],
        };
        identities.set(mockUrn, identity);
        return identity;
    };
    for (const r of resources) resolve(r.urn);
    return identities;
}

/** The resources with the URNs (their own and their parents') the engine and the CLI use. */
export function withEngineUrns<R extends RecordedResource>(resources: readonly R[]): R[] {
    const identities = engineIdentities(resources);
    const engineUrn = (mockUrn: string) => (identities.get(mockUrn) as EngineIdentity).urn;
    return resources.map((r) => ({ ...r, urn: engineUrn(r.urn), ...(r.parent ? { parent: engineUrn(r.parent) } : {}) }));
}
