/** Field schemas the project file and the app calls share. */
import { z } from 'zod';

// 64, not 100: hosts prefix a connection tag before handing ids to the engine worker (ids ≤ 100).
export const id = z.string().min(1).max(64);
export const path = z.string().min(1, 'a path is required').max(4096);
export const seed = z.number().int().min(0).max(2 ** 31 - 1);
export const fingerprint = z.string().regex(/^[0-9a-f]{64}$/, 'a SHA-256 fingerprint (64 hex digits) is expected');
/** Engine results without a schema of their own (the attack's manifest); stored as they came. */
export const engineResult = z.record(z.string(), z.unknown());
