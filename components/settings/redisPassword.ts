/**
 * The one rule for the password of a Redis this program runs (`standalone`, `ha`). init.sh puts
 * it into quoted lines of redis.conf and sentinel.conf (Sentinel rewrites its file unquoted), and
 * HAProxy sends it as the inline command `AUTH <password>`: a blank, quote, backslash or `$`
 * would split or mangle it there. The scripts hand it to redis-cli through REDISCLI_AUTH, which
 * takes any character. A managed Redis (`external`) keeps its own password: that one goes only
 * into the services' environment, so this rule does not apply to it.
 *
 * scripts/lib.sh checks the same bracket expression, written out: deriving it into settings.env
 * would change the ConfigMap and roll every running Redis pod. A test runs lib.sh on passwords
 * inside and outside this rule and fails when the two disagree.
 */

/** Characters besides letters and digits; `-` last, so that it stays literal in a bracket expression. */
const SYMBOLS = "._~+/=@:,-";

export const REDIS_PASSWORD_RULE = {
    /** The body of a bracket expression that means the same in a RegExp and in a POSIX sh `case` pattern. */
    charset: `A-Za-z0-9${SYMBOLS}`,
    symbols: SYMBOLS,
    charsetText: `letters, digits and ${SYMBOLS}`,
    /** Hard to guess; the generated password is longer (SECRETS in schema.ts). */
    minLength: 16,
    /** Why the characters are limited, for messages. */
    reason: "it is substituted into Redis, Sentinel and HAProxy configuration",
} as const;

/** Passwords whose characters the scripts accept (they do not check the length). */
export const REDIS_PASSWORD_PATTERN = new RegExp(`^[${REDIS_PASSWORD_RULE.charset}]+$`);

/** What is wrong with a password for an in-cluster Redis, without echoing it; undefined when it is fine. */
export function redisPasswordProblem(password: string): string | undefined {
    const r = REDIS_PASSWORD_RULE;
    if (password.length >= r.minLength && REDIS_PASSWORD_PATTERN.test(password)) return undefined;
    return `must be at least ${r.minLength} characters of ${r.charsetText} (${r.reason})`;
}
