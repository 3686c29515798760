/**
 * The pins of resource identities: which URNs a stack has now, what changed, and which released
 * URNs no resource answers to any more. Pure.
 */
import { EngineIdentity } from "../../cli/program/engineUrns";

/** URNs by stack, as the committed pin files hold them. */
export type UrnPins = Record<string, string[]>;

/** The sorted engine URNs of a run: what the pin file holds for one stack. */
export function currentUrns(identities: Map<string, EngineIdentity>): string[] {
    return [...identities.values()].map((i) => i.urn).sort();
}

/** What changed between a pinned set of URNs and the current one. */
export function urnChanges(pinned: readonly string[], current: readonly string[]): { added: string[]; removed: string[] } {
    const before = new Set(pinned);
    const after = new Set(current);
    return { added: current.filter((u) => !before.has(u)), removed: pinned.filter((u) => !after.has(u)) };
}

/**
 * Released URNs that no current resource answers to (`pulumi up` would delete those resources and
 * create new ones), and released URNs that more than one resource claims (the engine refuses that).
 */
export function releasedUrnProblems(
    released: readonly string[],
    identities: Map<string, EngineIdentity>,
): { unclaimed: string[]; ambiguous: string[] } {
    const claims = new Map<string, number>();
    for (const identity of identities.values()) {
        for (const urn of new Set([identity.urn, ...identity.aliases])) claims.set(urn, (claims.get(urn) ?? 0) + 1);
    }
    return {
        unclaimed: released.filter((u) => !claims.has(u)),
        ambiguous: released.filter((u) => (claims.get(u) ?? 0) > 1),
    };
}
