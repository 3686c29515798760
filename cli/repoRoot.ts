import * as path from "path";

/** The repository's root folder (this file sits in cli/, directly below it). */
export const REPO_ROOT = path.resolve(__dirname, "..");
