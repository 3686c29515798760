/** Host names and IP addresses as every setting, rendered object and tool reads them: one answer. */
import { isIP } from "net";

const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
/** Digits and dots only: meant as an IPv4 address (no top-level domain is all digits). */
const DOTTED_DIGITS = /^[0-9.]+$/;

/** 4 or 6 for an IPv4 or IPv6 literal, 0 for anything else (Node's parser). */
export function ipVersion(host: string): 0 | 4 | 6 {
    return isIP(host) as 0 | 4 | 6;
}

export function isIpLiteral(host: string): boolean {
    return ipVersion(host) !== 0;
}

/** Why `host` is neither a DNS name nor an IP address ("is not ..."); undefined when it is one. */
export function hostProblem(host: string): string | undefined {
    if (isIpLiteral(host)) return undefined;
    if (DOTTED_DIGITS.test(host)) return "is not an IPv4 address (4 numbers 0-255 joined by dots)";
    if (!HOST_NAME.test(host)) return "is not a host name or IP address";
    return undefined;
}
