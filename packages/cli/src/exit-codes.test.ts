import {
  AlreadyExistsError,
  BatonError,
  BudgetExceededError,
  CanceledError,
  DeadlineExceededError,
  FailedPreconditionError,
  InternalError,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
  ResourceExhaustedError,
  UnauthenticatedError,
  UnavailableError,
} from "@baton/orca";
import { describe, expect, it } from "vitest";
import { codeName, EXIT, exitCodeOf, formatError, UsageError } from "./exit-codes.js";
import { EXIT_CODE_HELP } from "./help.js";

describe("exit codes by error class", () => {
  it.each([
    [new UsageError("x"), EXIT.usage],
    [new NotFoundError("x"), EXIT.notFound],
    [new UnauthenticatedError("x"), EXIT.auth],
    [new PermissionDeniedError("x"), EXIT.auth],
    [new InvalidArgumentError("x"), EXIT.invalidArgument],
    [new UnavailableError("x"), EXIT.unavailable],
    [new DeadlineExceededError("x"), EXIT.unavailable],
    [new BudgetExceededError("x", { limit: "max_tokens" }), EXIT.budgetExceeded],
    [new ResourceExhaustedError("x"), EXIT.other],
    [new AlreadyExistsError("x"), EXIT.conflict],
    [new FailedPreconditionError("x"), EXIT.conflict],
    [new CanceledError("x"), EXIT.interrupted],
    [new InternalError("x"), EXIT.other],
    [new Error("x"), EXIT.other],
    ["a string", EXIT.other],
  ])("%s exits %i", (err, code) => {
    expect(exitCodeOf(err)).toBe(code);
  });

  it("codes are distinct, and --help documents each one", () => {
    const codes = Object.values(EXIT);
    expect(new Set(codes).size).toBe(codes.length);
    expect(EXIT_CODE_HELP.map(([c]) => c).sort((a, b) => a - b)).toEqual([...codes].sort((a, b) => a - b));
  });
});

describe("formatError", () => {
  const err = new BudgetExceededError("budget exceeded:\n max_tokens", {
    limit: "max_tokens",
    requestId: "req-1",
    status: 429,
  });

  it("prints one JSON line when stderr is not a terminal", () => {
    const line = formatError(err, true);
    expect(line.endsWith("\n")).toBe(true);
    expect(line.trimEnd().split("\n")).toHaveLength(1);
    expect(JSON.parse(line)).toEqual({
      error: {
        type: "BudgetExceededError",
        code: "resource_exhausted",
        message: "budget exceeded:\n max_tokens",
        exitCode: 7,
        status: 429,
        requestId: "req-1",
        limit: "max_tokens",
      },
    });
  });

  it("prints one readable line for people", () => {
    expect(formatError(err, false)).toBe(
      "baton: budget exceeded: max_tokens (resource_exhausted, limit max_tokens, request id req-1)\n",
    );
    expect(formatError(new UsageError("no such verb"), false)).toBe("baton: no such verb (usage)\n");
  });

  it("names codes as Connect does", () => {
    expect(codeName(new NotFoundError("x").code)).toBe("not_found");
    expect(codeName(new BatonError("x").code)).toBe("unknown");
    expect(codeName(new InvalidArgumentError("x").code)).toBe("invalid_argument");
  });
});
