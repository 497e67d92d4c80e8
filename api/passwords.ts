import { hash, verify } from '@node-rs/argon2';

/**
 * Passwords: argon2id (the library's default algorithm) with OWASP's minimum cost — 19 MiB, 2 passes — which
 * takes about 0.1 s here. The hash is a PHC string that carries its own parameters, so raising them later does not
 * lock anyone out.
 */
export const MIN_PASSWORD = 12;

export const hashPassword = (password: string): Promise<string> =>
  hash(password, { memoryCost: 19_456, timeCost: 2, parallelism: 1 });

export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  try {
    return await verify(stored, password);
  } catch {
    return false; // a malformed hash signs nobody in
  }
}

/** Why a new password is refused, or undefined. Length is what matters (NIST 800-63B); no composition rules. */
export function passwordProblem(password: string, confirm: string): string | undefined {
  if ([...password].length < MIN_PASSWORD) return `password: use at least ${MIN_PASSWORD} characters`;
  if (password.length > 256) return 'password: use at most 256 characters';
  if (password !== confirm) return 'confirm: the two passwords are not the same';
  return undefined;
}
