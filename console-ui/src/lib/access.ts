// The permission matrix of the private API (headwater/core/access.py, docs/api.md), so
// the console hides or disables what the role may not do. The API stays the gate.
export type Permission =
  | "self" | "config:read" | "config:write" | "config:deploy"
  | "data:read" | "data:delete" | "users:manage" | "keys:manage";

const EVERYONE: Permission[] = ["self", "config:read", "data:read"];

export const MATRIX: Record<string, Permission[]> = {
  admin: [...EVERYONE, "config:write", "config:deploy", "data:delete", "users:manage", "keys:manage"],
  developer: [...EVERYONE, "config:write", "config:deploy"],
  marketer: [...EVERYONE],
  maintainer: [...EVERYONE, "data:delete", "keys:manage"],
};

export function can(role: string | undefined, permission: Permission): boolean {
  return role !== undefined && (MATRIX[role] ?? []).includes(permission);
}
