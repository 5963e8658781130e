/**
 * The cdk-nag AwsSolutions findings this stack accepts, each with its reason. Every suppression is
 * scoped to one construct and, for wildcard findings, to the exact wildcard it accepts: a new
 * wildcard elsewhere still fails the checks.
 */
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { NagSuppressions } from 'cdk-nag';
import type { IConstruct } from 'constructs';

/** The constructs that carry accepted findings. */
export interface AcceptedFindings {
  readonly functionRoles: readonly iam.IRole[];
  /** The shard processor's role: the S3 on-failure destination grants it read-write on its bucket. */
  readonly processorRole: iam.IRole;
  readonly schedulerRoles: readonly iam.IRole[];
  readonly driveKeySecret: secretsmanager.ISecret;
  /** The names of the tables whose later generations (`<name>-g*`) the functions are granted. */
  readonly generationTableNames: readonly string[];
  /** Functions deployed as zip bundles on a managed runtime (none with ECR images). */
  readonly zipFunctions: readonly IConstruct[];
}

/** Object-level wildcards that `grantRead`/`grantPut` on a bucket produce. */
const BUCKET_GRANT_ACTIONS = /^Action::s3:(GetObject|GetBucket|List|Abort)\*$/;
/** `<…Bucket….Arn>/*`: every object of one of this stack's buckets. */
const BUCKET_OBJECTS = /^Resource::<Storage[A-Za-z]+Bucket[0-9A-F]{8}\.Arn>\/\*$/;
/** `<table arn>/index/*` from CDK table grants: the aggregates table's GSIs (customers by tier, segment, risk). */
const TABLE_INDEXES = /^Resource::<Storage[A-Za-z]+Table[0-9A-F]{8}\.Arn>\/index\/\*$/;
/** `<…Function….Arn>:*`: the function's versions and aliases. */
const FUNCTION_VERSIONS = /^Resource::<[A-Za-z]+Function[0-9A-F]{8}\.Arn>:\*$/;

/** `…:table/<name>-g*` and its `/index/*`: every later generation of one of this stack's tables. */
function generationTables(tableNames: readonly string[]): RegExp {
  const names = tableNames.map((name) => name.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&')).join('|');
  return new RegExp(
    `^Resource::arn:<AWS::Partition>:dynamodb:<AWS::Region>:<AWS::AccountId>:table\\/(${names})-g\\*(\\/index\\/\\*)?$`,
  );
}

/** cdk-nag matches `appliesTo` regexes given as `/…/` strings. */
function appliesTo(pattern: RegExp): { regex: string } {
  return { regex: `/${pattern.source}/` };
}

/** Acknowledges the accepted findings. */
export function acknowledgeFindings(findings: AcceptedFindings): void {
  for (const role of findings.functionRoles) {
    NagSuppressions.addResourceSuppressions(
      role,
      [
        {
          id: 'AwsSolutions-IAM5',
          reason:
            'Wildcards from CDK bucket grants (grantRead, grantPut, and the S3 on-failure destination): object actions on the objects of one named bucket. Object keys are data-driven (file paths, snapshot dates, shard ids), so no narrower prefix exists.',
          appliesTo: [appliesTo(BUCKET_GRANT_ACTIONS), appliesTo(BUCKET_OBJECTS)],
        },
        {
          id: 'AwsSolutions-IAM5',
          reason:
            'From CDK table grants: the same actions on the indexes of one named table (`<arn>/index/*`); the GSIs serve paged customer lists by tier, segment and churn risk.',
          appliesTo: [appliesTo(TABLE_INDEXES)],
        },
        {
          id: 'AwsSolutions-IAM5',
          reason:
            "The tables of later generations (`<table>-g1`, `-g2`, … and their indexes), which `tillstream rebuild` creates outside CloudFormation: the same grants as on the named table, so the functions follow the live generation after a rebuild switches it. The pattern covers only this stack's table names with a `-g` suffix.",
          appliesTo: [appliesTo(generationTables(findings.generationTableNames))],
        },
      ],
      true,
    );
  }
  NagSuppressions.addResourceSuppressions(
    findings.processorRole,
    [
      {
        id: 'AwsSolutions-IAM5',
        reason:
          'S3OnFailureDestination.bind grants grantReadWrite on the failed-batches bucket, delete included; the processor code never deletes, and the bucket is versioned, so a delete would only add a recoverable delete marker.',
        appliesTo: ['Action::s3:DeleteObject*'],
      },
    ],
    true,
  );
  for (const role of findings.schedulerRoles) {
    NagSuppressions.addResourceSuppressions(
      role,
      [
        {
          id: 'AwsSolutions-IAM5',
          reason:
            'From the LambdaInvoke target grant: lambda:InvokeFunction on one function and its versions (`:*`), the form the grant always emits.',
          appliesTo: [appliesTo(FUNCTION_VERSIONS)],
        },
      ],
      true,
    );
  }
  for (const fn of findings.zipFunctions) {
    NagSuppressions.addResourceSuppressions(fn, [
      {
        id: 'AwsSolutions-L1',
        reason:
          'nodejs22.x is the runtime the project targets and tests (package.json engines, esbuild target node22); Lambda supports it until Node 22 reaches end of life (April 2027). Moving to nodejs24.x is a deliberate change once CI runs the tests on Node 24.',
      },
    ]);
  }
  NagSuppressions.addResourceSuppressions(findings.driveKeySecret, [
    {
      id: 'AwsSolutions-SMG4',
      reason:
        'The value is a Google Cloud service-account key: Google issues it, so it is rotated in Google Cloud (new key, put into this secret, old key deleted), not by a Secrets Manager rotation Lambda.',
    },
  ]);
}
