/** Where the journey runs: URLs given on the command line, or a stack's Services. */
import type { JourneyTarget } from "./journey";
import { httpClient } from "./http";
import { PortForward } from "./portForward";
import { Reach, StackTargets } from "./stack";
import { Targets } from "./report";

const PROBE_TIMEOUT_MS = 2000;

export interface Connection {
    /** What the report names as the targets (never the token). */
    readonly targets: Targets;
    /** The current URLs: a restarted port-forward listens on a new local port. */
    journeyTarget(): JourneyTarget;
    /** Before each drill round: restarts forwards that broke. Resolves with how many it restarted. */
    heal(): Promise<number>;
    close(): Promise<void>;
}

export function directConnection(controllerUrl: string, registryUrl: string, token: string | undefined): Connection {
    const target: JourneyTarget = { controllerUrl, registryUrl, ...(token !== undefined ? { token } : {}) };
    return {
        targets: { controller: controllerUrl, registry: registryUrl, authenticated: token !== undefined },
        journeyTarget: () => target,
        heal: async () => 0,
        close: async () => undefined,
    };
}

/** One service: a fixed URL, or a port-forward that is restarted when it stops answering. */
class Endpoint {
    private constructor(
        private readonly reach: Reach,
        private forward: PortForward | undefined,
    ) {}

    static async open(reach: Reach): Promise<Endpoint> {
        return new Endpoint(reach, reach.kind === "port-forward" ? await PortForward.start(reach) : undefined);
    }

    get url(): string {
        if (this.reach.kind === "direct") return this.reach.url;
        return this.forward?.url ?? "http://127.0.0.1:0";
    }

    get description(): string {
        if (this.reach.kind === "direct") return this.reach.url;
        return `${this.url} (kubectl port-forward service/${this.reach.service} -n ${this.reach.namespace})`;
    }

    /** Any HTTP answer means the forward works; a transport error or a dead kubectl does not. */
    async heal(): Promise<boolean> {
        if (this.reach.kind === "direct") return false;
        if (this.forward?.alive) {
            try {
                await httpClient(this.forward.url, undefined, PROBE_TIMEOUT_MS)("GET", "/");
                return false;
            } catch {
                // restarted below
            }
        }
        await this.forward?.stop();
        this.forward = undefined;
        try {
            this.forward = await PortForward.start(this.reach, 20_000);
        } catch {
            // No ready pod yet: the round fails and the next one tries again.
        }
        return true;
    }

    async close(): Promise<void> {
        await this.forward?.stop();
    }
}

export async function stackConnection(stack: StackTargets, tokenOverride: string | undefined): Promise<Connection> {
    const token = tokenOverride ?? stack.token;
    const controller = await Endpoint.open(stack.controller);
    let registry: Endpoint;
    try {
        registry = await Endpoint.open(stack.registry);
    } catch (e) {
        await controller.close();
        throw e;
    }
    return {
        targets: { controller: controller.description, registry: registry.description, authenticated: token !== undefined },
        journeyTarget: () => ({ controllerUrl: controller.url, registryUrl: registry.url, ...(token !== undefined ? { token } : {}) }),
        heal: async () => (await Promise.all([controller.heal(), registry.heal()])).filter(Boolean).length,
        close: async () => {
            await Promise.all([controller.close(), registry.close()]);
        },
    };
}
