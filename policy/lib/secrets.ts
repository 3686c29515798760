/**
 * Secret material recognised by its value, whatever the variable or key is called: private keys
 * and access tokens whose issuers give them a fixed, documented prefix.
 */

interface SecretPattern {
    /** What the value is, for the message. */
    what: string;
    pattern: RegExp;
}

const SECRET_VALUE_PATTERNS: readonly SecretPattern[] = [
    { what: "a PEM private key", pattern: /-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----/ },
    { what: "a GitHub token", pattern: /\b(gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})\b/ },
    { what: "a GitLab token", pattern: /\bglpat-[A-Za-z0-9_-]{20,}\b/ },
    { what: "a Slack token", pattern: /\bxox[abposr]-[A-Za-z0-9-]{10,}\b/ },
    { what: "an AWS access key id", pattern: /\b(AKIA|ASIA)[0-9A-Z]{16}\b/ },
    { what: "a Stripe live key", pattern: /\b[sr]k_live_[0-9A-Za-z]{16,}\b/ },
    { what: "a Google API key", pattern: /\bAIza[0-9A-Za-z_-]{35}\b/ },
    { what: "an npm token", pattern: /\bnpm_[A-Za-z0-9]{36}\b/ },
    { what: "a Pulumi access token", pattern: /\bpul-[0-9a-f]{40}\b/ },
    { what: "a JSON Web Token", pattern: /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/ },
];

/** What secret material `value` holds, or undefined. */
export function secretMaterialIn(value: string): string | undefined {
    return SECRET_VALUE_PATTERNS.find((p) => p.pattern.test(value))?.what;
}
