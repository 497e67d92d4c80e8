/**
 * Permissions of the files orgtally writes (usage by client, costs, mail): readable by the owner and its group
 * (the operators), never by every account on the machine. Configurable (OUTPUT_FILE_MODE, OUTPUT_DIR_MODE).
 */
export interface FileModes {
  file: number;
  dir: number;
}

export const DEFAULT_FILE_MODES: FileModes = Object.freeze({ file: 0o640, dir: 0o750 });

/** "0640" / "640" → 0o640; undefined when the text is not an octal permission. */
export function parseMode(text: string): number | undefined {
  return /^0?[0-7]{3}$/.test(text) ? parseInt(text, 8) : undefined;
}
