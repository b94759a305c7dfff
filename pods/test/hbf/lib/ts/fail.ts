// Throws from a known line, for the stack-trace test (line 9: `throw`).
interface Reason {
  code: number;
  text: string;
}

export function fail(reason: Reason): never {
  const message = `failed with ${reason.code}: ${reason.text}`;
  throw new Error(message);
}
