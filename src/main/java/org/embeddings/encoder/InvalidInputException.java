package org.embeddings.encoder;

/**
 * Input a caller can fix: empty text, an unknown model or role, a malformed card. It extends
 * {@link IllegalArgumentException} so that hosts which map that type to a client error (HTTP 400) do so.
 */
public class InvalidInputException extends IllegalArgumentException {
    public InvalidInputException(String message) {
        super(message);
    }

    public InvalidInputException(String message, Throwable cause) {
        super(message, cause);
    }
}
