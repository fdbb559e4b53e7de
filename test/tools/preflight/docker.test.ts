import * as fs from 'fs';
import * as path from 'path';
import type { ImageBuild } from '../../../tools/preflight/assembly';
import { builderPlatforms, checkDocker, dockerStages } from '../../../tools/preflight/docker';
import { dockerRunner } from './fixture';

const WORKLOAD_DOCKERFILE = fs.readFileSync(path.join(__dirname, '..', '..', '..', 'workload', 'Dockerfile'), 'utf8');

const INSPECT_AMD64 = `Name:          default
Driver:        docker
Last Activity: 2026-11-30 10:00:00 +0000 UTC

Nodes:
Name:             default
Endpoint:         default
Status:           running
BuildKit version: v0.16.0
Platforms:        linux/amd64, linux/amd64/v2, linux/amd64/v3, linux/386
Labels:
 org.mobyproject.buildkit.worker.moby.host-gateway-ip: 172.17.0.1
`;
const INSPECT_WITH_QEMU = INSPECT_AMD64.replace('linux/386', 'linux/386, linux/arm64*, linux/riscv64');

const RUNS_ON_TARGET = `FROM public.ecr.aws/docker/library/node:22-alpine
RUN apk add --no-cache curl \\
    tini
COPY . .
`;

function image(o: Partial<ImageBuild> = {}): ImageBuild {
  return { assetId: 'a', directory: '/tmp/asset.a', dockerFile: 'Dockerfile', dockerfileText: WORKLOAD_DOCKERFILE, platform: 'linux/arm64', ...o };
}

const up = { 'docker version': { stdout: '27.3.1\n' } };

describe('Dockerfile stages', () => {
  test('the workload image RUNs nothing on the target platform: its RUN steps are in the $BUILDPLATFORM stage', () => {
    const stages = dockerStages(WORKLOAD_DOCKERFILE);
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(stages.filter((s) => !s.onBuildPlatform && s.runs > 0)).toEqual([]);
    expect(stages.some((s) => s.onBuildPlatform && s.runs > 0)).toBe(true);
  });

  test('a RUN continued over lines counts once, in its stage', () => {
    expect(dockerStages(RUNS_ON_TARGET)).toEqual([{ from: 'public.ecr.aws/docker/library/node:22-alpine', onBuildPlatform: false, runs: 1 }]);
  });

  test('builder platforms come from every Platforms line, without the * of emulated ones', () => {
    expect(builderPlatforms(INSPECT_WITH_QEMU)).toEqual(['linux/amd64', 'linux/amd64/v2', 'linux/amd64/v3', 'linux/386', 'linux/arm64', 'linux/riscv64']);
  });
});

describe('docker check', () => {
  test('skipped when no image is built locally', async () => {
    const r = await checkDocker([], dockerRunner({}), {});
    expect(r.status).toBe('skipped');
  });

  test('ok when the builder lists the platform (natively or through QEMU)', async () => {
    const run = dockerRunner({ ...up, 'docker buildx inspect': { stdout: INSPECT_WITH_QEMU } });
    const r = await checkDocker([image({ dockerfileText: RUNS_ON_TARGET })], run, {});
    expect(r).toMatchObject({ status: 'ok', found: 'Docker 27.3.1, buildx builds linux/arm64.' });
    expect(run.calls).toEqual(['docker version --format {{.Server.Version}}', 'docker buildx inspect']);
  });

  test('ok on an x86 builder without QEMU when the Dockerfile RUNs nothing on arm64 (the workload image)', async () => {
    const r = await checkDocker([image()], dockerRunner({ ...up, 'docker buildx inspect': { stdout: INSPECT_AMD64 } }), {});
    expect(r.status).toBe('ok');
    expect(r.found).toContain('RUNs nothing on it');
  });

  test('blocked on an x86 builder without QEMU when a stage RUNs on arm64, with the binfmt fix', async () => {
    const r = await checkDocker([image({ dockerfileText: RUNS_ON_TARGET })], dockerRunner({ ...up, 'docker buildx inspect': { stdout: INSPECT_AMD64 } }), {});
    expect(r.status).toBe('blocked');
    expect(r.found).toContain('linux/arm64 is not among the builder\'s platforms');
    expect(r.fix).toContain('tonistiigi/binfmt --install arm64');
  });

  test('blocked when docker is not installed; CDK_DOCKER names the binary', async () => {
    const run = dockerRunner({ 'finch version': { exitCode: null, error: 'ENOENT' } });
    const r = await checkDocker([image()], run, { CDK_DOCKER: 'finch' });
    expect(r.status).toBe('blocked');
    expect(r.found).toContain('`finch` not found');
  });

  test('blocked when the engine does not answer, with its message', async () => {
    const r = await checkDocker([image()], dockerRunner({ 'docker version': { exitCode: 1, stderr: 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n' } }), {});
    expect(r).toMatchObject({ status: 'blocked', found: expect.stringContaining('Cannot connect to the Docker daemon') });
    expect(r.fix).toContain('start the Docker engine');
  });

  test('blocked without buildx', async () => {
    const r = await checkDocker([image()], dockerRunner({ ...up, 'docker buildx inspect': { exitCode: 1, stderr: "docker: 'buildx' is not a docker command.\n" } }), {});
    expect(r.status).toBe('blocked');
    expect(r.fix).toContain('buildx plugin');
  });
});
