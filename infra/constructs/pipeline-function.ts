/**
 * One pipeline Lambda: Node.js 22 on ARM64, its own log group, code from a zip bundle built by local
 * esbuild or from the ECR image CI pushed, whichever the stack's code source says.
 */
import type { Duration } from 'aws-cdk-lib';
import { RemovalPolicy } from 'aws-cdk-lib';
import type * as ecr from 'aws-cdk-lib/aws-ecr';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import {
  BUNDLE_TARGET,
  ESM_REQUIRE_BANNER,
  entryPath,
  imageHandlerFor,
  LOCAL_ONLY_PACKAGES,
  REPO_ROOT,
} from '../bundling.js';
import { CodeMode } from '../props.js';

/** Code source with the ECR repository already looked up. */
export type ResolvedCode =
  | { readonly mode: typeof CodeMode.Zip }
  | {
      readonly mode: typeof CodeMode.Ecr;
      readonly repository: ecr.IRepository;
      readonly tagOrDigest: string;
    };

/** One function's settings. */
export interface PipelineFunctionProps {
  /** Handler file relative to the repository root, exporting `handler`. */
  readonly entry: string;
  readonly description: string;
  readonly code: ResolvedCode;
  /** Memory in MB. */
  readonly memorySize: number;
  readonly timeout: Duration;
  readonly environment: Readonly<Record<string, string>>;
  readonly logRetentionDays: number;
  readonly protectData: boolean;
  /** Concurrent executions reserved (and capped). @default unreserved */
  readonly reservedConcurrentExecutions?: number;
}

/** A pipeline Lambda. */
export class PipelineFunction extends Construct {
  readonly function: lambda.Function;
  /** The execution role: only what the grants add, plus writing to its own log group. */
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: PipelineFunctionProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetentionDays as logs.RetentionDays,
      removalPolicy: props.protectData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    // Its own role instead of AWSLambdaBasicExecutionRole, whose log permissions cover every log group.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: props.description,
    });
    this.logGroup.grantWrite(this.role);
    const common = {
      role: this.role,
      description: props.description,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize,
      timeout: props.timeout,
      environment: { ...props.environment, NODE_OPTIONS: '--enable-source-maps' },
      logGroup: this.logGroup,
      ...(props.reservedConcurrentExecutions === undefined
        ? {}
        : { reservedConcurrentExecutions: props.reservedConcurrentExecutions }),
    };
    if (props.code.mode === CodeMode.Zip) {
      this.function = new nodejs.NodejsFunction(this, 'Function', {
        ...common,
        entry: entryPath(props.entry),
        handler: 'handler',
        runtime: lambda.Runtime.NODEJS_22_X,
        projectRoot: REPO_ROOT,
        depsLockFilePath: `${REPO_ROOT}/package-lock.json`,
        bundling: {
          forceDockerBundling: false,
          format: nodejs.OutputFormat.ESM,
          target: BUNDLE_TARGET,
          mainFields: ['module', 'main'],
          banner: ESM_REQUIRE_BANNER,
          // The SDK is bundled, not taken from the runtime: the handlers are tested against the
          // versions in package-lock.json, and the runtime's copy changes without notice.
          bundleAwsSDK: true,
          externalModules: [...LOCAL_ONLY_PACKAGES],
          minify: true,
          sourceMap: true,
        },
      });
    } else {
      this.function = new lambda.DockerImageFunction(this, 'Function', {
        ...common,
        code: lambda.DockerImageCode.fromEcr(props.code.repository, {
          tagOrDigest: props.code.tagOrDigest,
          cmd: [imageHandlerFor(props.entry)],
        }),
      });
    }
  }
}
