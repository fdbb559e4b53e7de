/**
 * Makes a template stable for snapshots: asset hashes (which change with the CDK version or a Lambda's
 * source, not with behaviour) become placeholders. A snapshot diff then means the infrastructure changed.
 */
export function normalizeTemplate(template: unknown): unknown {
  return JSON.parse(
    JSON.stringify(template)
      .replace(/[0-9a-f]{64}(\.(zip|json|tar))?/g, (_m, ext: string | undefined) => `[ASSET_HASH]${ext ?? ''}`)
  );
}
