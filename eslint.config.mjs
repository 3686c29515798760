// Lint rules of the repository. `npm run lint` runs ESLint and checks Prettier's formatting.
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import pulumi from "@pulumi/eslint-plugin";
import globals from "globals";

export default tseslint.config(
    { ignores: ["node_modules/", "policy/bin/", ".amalgam8/", "rendered/"] },
    js.configs.recommended,
    ...tseslint.configs.recommended,
    {
        languageOptions: { ecmaVersion: 2022, sourceType: "module", globals: globals.node },
        rules: {
            "max-len": ["error", { code: 140, ignoreUrls: true }],
            // Kubernetes objects and gRPC payloads are untyped JSON; their readers use `any` on purpose.
            "@typescript-eslint/no-explicit-any": "off",
            // Modules loaded on first use keep `npm run check` fast to start.
            "@typescript-eslint/no-require-imports": "off",
            "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
            eqeqeq: ["error", "always", { null: "ignore" }],
            "prefer-const": "error",
            "no-var": "error",
        },
    },
    {
        // Pulumi Outputs in template strings render as an error text, not the value.
        files: ["index.ts", "components/**/*.ts"],
        plugins: { "@pulumi": pulumi },
        languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
        rules: {
            "@pulumi/no-output-in-template-literal": "error",
            "@pulumi/no-output-instance-in-template-literal": "error",
        },
    },
);
