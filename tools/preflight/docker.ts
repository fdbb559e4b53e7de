import type { ImageBuild } from './assembly';
import type { ProcessRunner, RunResult } from './process';
import type { CheckOutcome } from './report';

const DOCKER_TIMEOUT_MS = 15_000;

/** A build stage of a Dockerfile: does it run on the build machine's platform, and does it RUN anything? */
export interface DockerStage {
  readonly from: string;
  /** `FROM --platform=$BUILDPLATFORM`: runs natively whatever the target platform. */
  readonly onBuildPlatform: boolean;
  readonly runs: number;
}

/** The stages of a Dockerfile, enough to tell whether building for another platform executes anything on it. */
export function dockerStages(text: string): DockerStage[] {
  const stages: Array<{ from: string; onBuildPlatform: boolean; runs: number }> = [];
  // Instructions continue over lines ending in a backslash; comments are whole lines.
  const instructions = text.replace(/\\\r?\n/g, ' ').split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  for (const line of instructions) {
    const [keyword] = line.split(/\s+/, 1);
    if (/^from$/i.test(keyword)) {
      const platform = /--platform=(\S+)/i.exec(line)?.[1] ?? '';
      stages.push({ from: line.replace(/^from\s+/i, ''), onBuildPlatform: /BUILDPLATFORM/.test(platform), runs: 0 });
    } else if (/^run$/i.test(keyword) && stages.length > 0) {
      stages[stages.length - 1].runs++;
    }
  }
  return stages;
}

/** Platforms the current buildx builder can build for (native or emulated), from `docker buildx inspect`. */
export function builderPlatforms(inspect: string): string[] {
  return inspect.split('\n')
    .filter((l) => /^\s*Platforms:/.test(l))
    .flatMap((l) => l.replace(/^\s*Platforms:/, '').split(','))
    .map((p) => p.trim().replace(/\*$/, ''))
    .filter(Boolean);
}

function supports(platforms: readonly string[], target: string): boolean {
  return platforms.some((p) => p === target || p.startsWith(`${target}/`));
}

function firstLine(r: RunResult): string {
  return (r.stderr.trim() || r.stdout.trim()).split('\n')[0] ?? '';
}

/**
 * `cdk deploy` builds an image for each image asset with `docker build --platform <platform>`: the engine
 * must answer, BuildKit (buildx) must be there for `FROM --platform=$BUILDPLATFORM` and --platform, and a
 * stage of the target platform that RUNs commands needs that platform natively or under QEMU emulation.
 * CDK_DOCKER names another binary (finch, podman), as for cdk-assets.
 */
export async function checkDocker(images: readonly ImageBuild[], run: ProcessRunner, env: NodeJS.ProcessEnv): Promise<CheckOutcome> {
  if (images.length === 0) {
    return { status: 'skipped', found: 'no image is built locally: the services pull a registry image (api/worker image.uri).' };
  }
  const docker = env.CDK_DOCKER || 'docker';
  const targets = [...new Set(images.map((i) => i.platform ?? 'native'))];
  const details: Record<string, unknown> = { docker, platforms: targets, dockerfiles: images.map((i) => i.dockerFile) };

  const version = await run(docker, ['version', '--format', '{{.Server.Version}}'], { timeoutMs: DOCKER_TIMEOUT_MS });
  if (version.error === 'ENOENT') {
    return { status: 'blocked', details, found: `\`${docker}\` not found, and cdk deploy builds ${images.length} image(s) for ${targets.join(', ')}.`, fix: 'install Docker (Docker Engine with the buildx plugin, or Docker Desktop), or set CDK_DOCKER to a compatible CLI; or set api/worker image.uri to a pushed image.' };
  }
  if (version.exitCode !== 0) {
    const why = version.error === 'timeout' ? `no answer within ${DOCKER_TIMEOUT_MS / 1000} s` : firstLine(version);
    return { status: 'blocked', details, found: `the Docker engine does not answer (${docker} version: ${why}).`, fix: 'start the Docker engine (systemctl start docker, or Docker Desktop) and check that this user may use it.' };
  }
  const serverVersion = version.stdout.trim();
  details.serverVersion = serverVersion;

  const inspect = await run(docker, ['buildx', 'inspect'], { timeoutMs: DOCKER_TIMEOUT_MS });
  if (inspect.exitCode !== 0) {
    return { status: 'blocked', details, found: `Docker ${serverVersion}, but \`${docker} buildx inspect\` fails (${inspect.error ?? firstLine(inspect)}): without BuildKit, --platform and $BUILDPLATFORM do not work.`, fix: 'install the buildx plugin (docker-buildx-plugin, or Docker Desktop).' };
  }
  const platforms = builderPlatforms(inspect.stdout);
  details.builderPlatforms = platforms;

  const problems: string[] = [];
  const notes: string[] = [];
  for (const image of images) {
    const target = image.platform;
    if (!target || supports(platforms, target)) continue;
    if (image.dockerfileText === undefined) {
      problems.push(`${target} is not among the builder's platforms (${platforms.join(', ') || 'none listed'}) and ${image.dockerFile} was not found to tell whether the build runs anything on it`);
      continue;
    }
    const emulated = dockerStages(image.dockerfileText).filter((s) => !s.onBuildPlatform && s.runs > 0);
    if (emulated.length > 0) {
      problems.push(`${target} is not among the builder's platforms (${platforms.join(', ') || 'none listed'}) and ${emulated.length} stage(s) RUN commands on it (FROM ${emulated[0].from})`);
    } else {
      notes.push(`${target} is not native here, but the Dockerfile RUNs nothing on it (its RUN steps are in stages on $BUILDPLATFORM), so no emulation is needed`);
    }
  }
  if (problems.length > 0) {
    const arch = images.find((i) => i.platform && !supports(platforms, i.platform))?.platform?.split('/')[1] ?? 'arm64';
    return { status: 'blocked', details, found: `Docker ${serverVersion}: ${problems.join('; ')}.`, fix: `register QEMU emulation (docker run --privileged --rm tonistiigi/binfmt --install ${arch}), build on a ${arch} host, or move the RUN steps into a stage FROM --platform=$BUILDPLATFORM.` };
  }
  return { status: 'ok', details, found: `Docker ${serverVersion}, buildx builds ${targets.join(', ')}${notes.length > 0 ? ` (${notes.join('; ')})` : ''}.` };
}
