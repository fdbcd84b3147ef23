// The fixed address and token of the host the end-to-end tests start (playwright.config.ts).
export const E2E_PORT = 47613;
export const E2E_TOKEN = 'e2e-token-landmark-studio-0001';
