/**
 * Bad input from the user (a flag, a file, a stack configuration). Command-line tools print its
 * message on one line and exit 2, never a stack trace.
 */
export class InputError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "InputError";
    }
}
