/* eslint-disable */
import * as types from './graphql';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  mutation Logout {\n    logout\n  }\n": typeof types.LogoutDocument,
    "\n  fragment AppTaskFields on Task {\n    id\n    type\n    state\n    createdAt\n    updatedAt\n    app {\n      id\n    }\n  }\n": typeof types.AppTaskFieldsFragmentDoc,
    "\n  fragment PendingCommandFields on Command {\n    id\n    command\n    target\n    createdAt\n  }\n": typeof types.PendingCommandFieldsFragmentDoc,
    "\n  mutation StartDiagnosticTask($input: DiagnosticTaskInput!) {\n    startDiagnosticTask(input: $input) {\n      ...TaskFields\n    }\n  }\n": typeof types.StartDiagnosticTaskDocument,
    "\n  mutation InstallApp($input: InstallAppInput!) {\n    installApp(input: $input) {\n      ...AppTaskFields\n    }\n  }\n": typeof types.InstallAppDocument,
    "\n  fragment AppRowFields on App {\n    id\n    location\n    image\n    installationState\n    runState\n    cpuQuota\n    memoryLimit\n    notes\n    error {\n      code\n      message\n    }\n    tasks(first: 20, where: { stateIn: [pending, waiting, running] }) @include(if: $admin) {\n      edges {\n        node {\n          ...AppTaskFields\n        }\n      }\n    }\n  }\n": typeof types.AppRowFieldsFragmentDoc,
    "\n  query Apps($first: Int!, $admin: Boolean!) {\n    apps(first: $first) {\n      totalCount\n      edges {\n        node {\n          ...AppRowFields\n        }\n      }\n    }\n    commands(first: 500, where: { isConsumed: false }) @include(if: $admin) {\n      edges {\n        node {\n          ...PendingCommandFields\n        }\n      }\n    }\n  }\n": typeof types.AppsDocument,
    "\n  query AppRow($id: ID!, $target: String!, $admin: Boolean!) {\n    node(id: $id) {\n      ... on App {\n        ...AppRowFields\n      }\n    }\n    commands(first: 100, where: { target: $target, isConsumed: false }) @include(if: $admin) {\n      edges {\n        node {\n          ...PendingCommandFields\n        }\n      }\n    }\n  }\n": typeof types.AppRowDocument,
    "\n  subscription AppTasksChanged {\n    tasksChanged {\n      ...AppTaskFields\n    }\n  }\n": typeof types.AppTasksChangedDocument,
    "\n  subscription AppTaskUpdated($id: ID!) {\n    taskUpdated(id: $id) {\n      ...AppTaskFields\n    }\n  }\n": typeof types.AppTaskUpdatedDocument,
    "\n  mutation StartApp($id: ID!) {\n    startApp(id: $id) {\n      ...AppTaskFields\n    }\n  }\n": typeof types.StartAppDocument,
    "\n  mutation StopApp($id: ID!) {\n    stopApp(id: $id) {\n      ...AppTaskFields\n    }\n  }\n": typeof types.StopAppDocument,
    "\n  mutation RestartApp($id: ID!) {\n    restartApp(id: $id) {\n      ...AppTaskFields\n    }\n  }\n": typeof types.RestartAppDocument,
    "\n  mutation Login($username: String!, $password: String!) {\n    login(username: $username, password: $password) {\n      token\n      user {\n        id\n        username\n        role\n      }\n    }\n  }\n": typeof types.LoginDocument,
    "\n  query Task($id: ID!) {\n    task(id: $id) {\n      ...TaskFields\n    }\n  }\n": typeof types.TaskDocument,
    "\n  subscription TaskUpdated($id: ID!) {\n    taskUpdated(id: $id) {\n      ...TaskFields\n    }\n  }\n": typeof types.TaskUpdatedDocument,
    "\n  subscription TaskLog($id: ID!, $fromLine: Int!) {\n    taskLog(id: $id, fromLine: $fromLine) {\n      line\n      text\n    }\n  }\n": typeof types.TaskLogDocument,
    "\n  query PendingAbort($target: String!) {\n    commands(first: 1, where: { command: \"abort\", target: $target }) {\n      totalCount\n    }\n  }\n": typeof types.PendingAbortDocument,
    "\n  query Tasks($first: Int!) {\n    tasks(first: $first, orderBy: [{ field: CREATED_AT, direction: DESC }]) {\n      totalCount\n      edges {\n        node {\n          ...TaskFields\n        }\n      }\n    }\n  }\n": typeof types.TasksDocument,
    "\n  subscription TasksChanged {\n    tasksChanged {\n      ...TaskFields\n    }\n  }\n": typeof types.TasksChangedDocument,
    "\n  query AbortCommands($targets: [String!]!) {\n    commands(first: 100, where: { command: \"abort\", targetIn: $targets }) {\n      edges {\n        node {\n          id\n          target\n        }\n      }\n    }\n  }\n": typeof types.AbortCommandsDocument,
    "\n  query Me {\n    me {\n      id\n      username\n      role\n    }\n  }\n": typeof types.MeDocument,
    "\n  fragment TaskFields on Task {\n    id\n    type\n    state\n    percent\n    message\n    error {\n      code\n      message\n      step\n    }\n    lockKeys\n    logLines\n    createdAt\n    updatedAt\n    startedAt\n    finishedAt\n  }\n": typeof types.TaskFieldsFragmentDoc,
    "\n  mutation CancelTask($id: ID!) {\n    cancelTask(id: $id) {\n      id\n      command\n      target\n      isConsumed\n    }\n  }\n": typeof types.CancelTaskDocument,
};
const documents: Documents = {
    "\n  mutation Logout {\n    logout\n  }\n": types.LogoutDocument,
    "\n  fragment AppTaskFields on Task {\n    id\n    type\n    state\n    createdAt\n    updatedAt\n    app {\n      id\n    }\n  }\n": types.AppTaskFieldsFragmentDoc,
    "\n  fragment PendingCommandFields on Command {\n    id\n    command\n    target\n    createdAt\n  }\n": types.PendingCommandFieldsFragmentDoc,
    "\n  mutation StartDiagnosticTask($input: DiagnosticTaskInput!) {\n    startDiagnosticTask(input: $input) {\n      ...TaskFields\n    }\n  }\n": types.StartDiagnosticTaskDocument,
    "\n  mutation InstallApp($input: InstallAppInput!) {\n    installApp(input: $input) {\n      ...AppTaskFields\n    }\n  }\n": types.InstallAppDocument,
    "\n  fragment AppRowFields on App {\n    id\n    location\n    image\n    installationState\n    runState\n    cpuQuota\n    memoryLimit\n    notes\n    error {\n      code\n      message\n    }\n    tasks(first: 20, where: { stateIn: [pending, waiting, running] }) @include(if: $admin) {\n      edges {\n        node {\n          ...AppTaskFields\n        }\n      }\n    }\n  }\n": types.AppRowFieldsFragmentDoc,
    "\n  query Apps($first: Int!, $admin: Boolean!) {\n    apps(first: $first) {\n      totalCount\n      edges {\n        node {\n          ...AppRowFields\n        }\n      }\n    }\n    commands(first: 500, where: { isConsumed: false }) @include(if: $admin) {\n      edges {\n        node {\n          ...PendingCommandFields\n        }\n      }\n    }\n  }\n": types.AppsDocument,
    "\n  query AppRow($id: ID!, $target: String!, $admin: Boolean!) {\n    node(id: $id) {\n      ... on App {\n        ...AppRowFields\n      }\n    }\n    commands(first: 100, where: { target: $target, isConsumed: false }) @include(if: $admin) {\n      edges {\n        node {\n          ...PendingCommandFields\n        }\n      }\n    }\n  }\n": types.AppRowDocument,
    "\n  subscription AppTasksChanged {\n    tasksChanged {\n      ...AppTaskFields\n    }\n  }\n": types.AppTasksChangedDocument,
    "\n  subscription AppTaskUpdated($id: ID!) {\n    taskUpdated(id: $id) {\n      ...AppTaskFields\n    }\n  }\n": types.AppTaskUpdatedDocument,
    "\n  mutation StartApp($id: ID!) {\n    startApp(id: $id) {\n      ...AppTaskFields\n    }\n  }\n": types.StartAppDocument,
    "\n  mutation StopApp($id: ID!) {\n    stopApp(id: $id) {\n      ...AppTaskFields\n    }\n  }\n": types.StopAppDocument,
    "\n  mutation RestartApp($id: ID!) {\n    restartApp(id: $id) {\n      ...AppTaskFields\n    }\n  }\n": types.RestartAppDocument,
    "\n  mutation Login($username: String!, $password: String!) {\n    login(username: $username, password: $password) {\n      token\n      user {\n        id\n        username\n        role\n      }\n    }\n  }\n": types.LoginDocument,
    "\n  query Task($id: ID!) {\n    task(id: $id) {\n      ...TaskFields\n    }\n  }\n": types.TaskDocument,
    "\n  subscription TaskUpdated($id: ID!) {\n    taskUpdated(id: $id) {\n      ...TaskFields\n    }\n  }\n": types.TaskUpdatedDocument,
    "\n  subscription TaskLog($id: ID!, $fromLine: Int!) {\n    taskLog(id: $id, fromLine: $fromLine) {\n      line\n      text\n    }\n  }\n": types.TaskLogDocument,
    "\n  query PendingAbort($target: String!) {\n    commands(first: 1, where: { command: \"abort\", target: $target }) {\n      totalCount\n    }\n  }\n": types.PendingAbortDocument,
    "\n  query Tasks($first: Int!) {\n    tasks(first: $first, orderBy: [{ field: CREATED_AT, direction: DESC }]) {\n      totalCount\n      edges {\n        node {\n          ...TaskFields\n        }\n      }\n    }\n  }\n": types.TasksDocument,
    "\n  subscription TasksChanged {\n    tasksChanged {\n      ...TaskFields\n    }\n  }\n": types.TasksChangedDocument,
    "\n  query AbortCommands($targets: [String!]!) {\n    commands(first: 100, where: { command: \"abort\", targetIn: $targets }) {\n      edges {\n        node {\n          id\n          target\n        }\n      }\n    }\n  }\n": types.AbortCommandsDocument,
    "\n  query Me {\n    me {\n      id\n      username\n      role\n    }\n  }\n": types.MeDocument,
    "\n  fragment TaskFields on Task {\n    id\n    type\n    state\n    percent\n    message\n    error {\n      code\n      message\n      step\n    }\n    lockKeys\n    logLines\n    createdAt\n    updatedAt\n    startedAt\n    finishedAt\n  }\n": types.TaskFieldsFragmentDoc,
    "\n  mutation CancelTask($id: ID!) {\n    cancelTask(id: $id) {\n      id\n      command\n      target\n      isConsumed\n    }\n  }\n": types.CancelTaskDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation Logout {\n    logout\n  }\n"): (typeof documents)["\n  mutation Logout {\n    logout\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment AppTaskFields on Task {\n    id\n    type\n    state\n    createdAt\n    updatedAt\n    app {\n      id\n    }\n  }\n"): (typeof documents)["\n  fragment AppTaskFields on Task {\n    id\n    type\n    state\n    createdAt\n    updatedAt\n    app {\n      id\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment PendingCommandFields on Command {\n    id\n    command\n    target\n    createdAt\n  }\n"): (typeof documents)["\n  fragment PendingCommandFields on Command {\n    id\n    command\n    target\n    createdAt\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation StartDiagnosticTask($input: DiagnosticTaskInput!) {\n    startDiagnosticTask(input: $input) {\n      ...TaskFields\n    }\n  }\n"): (typeof documents)["\n  mutation StartDiagnosticTask($input: DiagnosticTaskInput!) {\n    startDiagnosticTask(input: $input) {\n      ...TaskFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation InstallApp($input: InstallAppInput!) {\n    installApp(input: $input) {\n      ...AppTaskFields\n    }\n  }\n"): (typeof documents)["\n  mutation InstallApp($input: InstallAppInput!) {\n    installApp(input: $input) {\n      ...AppTaskFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment AppRowFields on App {\n    id\n    location\n    image\n    installationState\n    runState\n    cpuQuota\n    memoryLimit\n    notes\n    error {\n      code\n      message\n    }\n    tasks(first: 20, where: { stateIn: [pending, waiting, running] }) @include(if: $admin) {\n      edges {\n        node {\n          ...AppTaskFields\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  fragment AppRowFields on App {\n    id\n    location\n    image\n    installationState\n    runState\n    cpuQuota\n    memoryLimit\n    notes\n    error {\n      code\n      message\n    }\n    tasks(first: 20, where: { stateIn: [pending, waiting, running] }) @include(if: $admin) {\n      edges {\n        node {\n          ...AppTaskFields\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Apps($first: Int!, $admin: Boolean!) {\n    apps(first: $first) {\n      totalCount\n      edges {\n        node {\n          ...AppRowFields\n        }\n      }\n    }\n    commands(first: 500, where: { isConsumed: false }) @include(if: $admin) {\n      edges {\n        node {\n          ...PendingCommandFields\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query Apps($first: Int!, $admin: Boolean!) {\n    apps(first: $first) {\n      totalCount\n      edges {\n        node {\n          ...AppRowFields\n        }\n      }\n    }\n    commands(first: 500, where: { isConsumed: false }) @include(if: $admin) {\n      edges {\n        node {\n          ...PendingCommandFields\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query AppRow($id: ID!, $target: String!, $admin: Boolean!) {\n    node(id: $id) {\n      ... on App {\n        ...AppRowFields\n      }\n    }\n    commands(first: 100, where: { target: $target, isConsumed: false }) @include(if: $admin) {\n      edges {\n        node {\n          ...PendingCommandFields\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query AppRow($id: ID!, $target: String!, $admin: Boolean!) {\n    node(id: $id) {\n      ... on App {\n        ...AppRowFields\n      }\n    }\n    commands(first: 100, where: { target: $target, isConsumed: false }) @include(if: $admin) {\n      edges {\n        node {\n          ...PendingCommandFields\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription AppTasksChanged {\n    tasksChanged {\n      ...AppTaskFields\n    }\n  }\n"): (typeof documents)["\n  subscription AppTasksChanged {\n    tasksChanged {\n      ...AppTaskFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription AppTaskUpdated($id: ID!) {\n    taskUpdated(id: $id) {\n      ...AppTaskFields\n    }\n  }\n"): (typeof documents)["\n  subscription AppTaskUpdated($id: ID!) {\n    taskUpdated(id: $id) {\n      ...AppTaskFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation StartApp($id: ID!) {\n    startApp(id: $id) {\n      ...AppTaskFields\n    }\n  }\n"): (typeof documents)["\n  mutation StartApp($id: ID!) {\n    startApp(id: $id) {\n      ...AppTaskFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation StopApp($id: ID!) {\n    stopApp(id: $id) {\n      ...AppTaskFields\n    }\n  }\n"): (typeof documents)["\n  mutation StopApp($id: ID!) {\n    stopApp(id: $id) {\n      ...AppTaskFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RestartApp($id: ID!) {\n    restartApp(id: $id) {\n      ...AppTaskFields\n    }\n  }\n"): (typeof documents)["\n  mutation RestartApp($id: ID!) {\n    restartApp(id: $id) {\n      ...AppTaskFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation Login($username: String!, $password: String!) {\n    login(username: $username, password: $password) {\n      token\n      user {\n        id\n        username\n        role\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation Login($username: String!, $password: String!) {\n    login(username: $username, password: $password) {\n      token\n      user {\n        id\n        username\n        role\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Task($id: ID!) {\n    task(id: $id) {\n      ...TaskFields\n    }\n  }\n"): (typeof documents)["\n  query Task($id: ID!) {\n    task(id: $id) {\n      ...TaskFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription TaskUpdated($id: ID!) {\n    taskUpdated(id: $id) {\n      ...TaskFields\n    }\n  }\n"): (typeof documents)["\n  subscription TaskUpdated($id: ID!) {\n    taskUpdated(id: $id) {\n      ...TaskFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription TaskLog($id: ID!, $fromLine: Int!) {\n    taskLog(id: $id, fromLine: $fromLine) {\n      line\n      text\n    }\n  }\n"): (typeof documents)["\n  subscription TaskLog($id: ID!, $fromLine: Int!) {\n    taskLog(id: $id, fromLine: $fromLine) {\n      line\n      text\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query PendingAbort($target: String!) {\n    commands(first: 1, where: { command: \"abort\", target: $target }) {\n      totalCount\n    }\n  }\n"): (typeof documents)["\n  query PendingAbort($target: String!) {\n    commands(first: 1, where: { command: \"abort\", target: $target }) {\n      totalCount\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Tasks($first: Int!) {\n    tasks(first: $first, orderBy: [{ field: CREATED_AT, direction: DESC }]) {\n      totalCount\n      edges {\n        node {\n          ...TaskFields\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query Tasks($first: Int!) {\n    tasks(first: $first, orderBy: [{ field: CREATED_AT, direction: DESC }]) {\n      totalCount\n      edges {\n        node {\n          ...TaskFields\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription TasksChanged {\n    tasksChanged {\n      ...TaskFields\n    }\n  }\n"): (typeof documents)["\n  subscription TasksChanged {\n    tasksChanged {\n      ...TaskFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query AbortCommands($targets: [String!]!) {\n    commands(first: 100, where: { command: \"abort\", targetIn: $targets }) {\n      edges {\n        node {\n          id\n          target\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query AbortCommands($targets: [String!]!) {\n    commands(first: 100, where: { command: \"abort\", targetIn: $targets }) {\n      edges {\n        node {\n          id\n          target\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Me {\n    me {\n      id\n      username\n      role\n    }\n  }\n"): (typeof documents)["\n  query Me {\n    me {\n      id\n      username\n      role\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment TaskFields on Task {\n    id\n    type\n    state\n    percent\n    message\n    error {\n      code\n      message\n      step\n    }\n    lockKeys\n    logLines\n    createdAt\n    updatedAt\n    startedAt\n    finishedAt\n  }\n"): (typeof documents)["\n  fragment TaskFields on Task {\n    id\n    type\n    state\n    percent\n    message\n    error {\n      code\n      message\n      step\n    }\n    lockKeys\n    logLines\n    createdAt\n    updatedAt\n    startedAt\n    finishedAt\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CancelTask($id: ID!) {\n    cancelTask(id: $id) {\n      id\n      command\n      target\n      isConsumed\n    }\n  }\n"): (typeof documents)["\n  mutation CancelTask($id: ID!) {\n    cancelTask(id: $id) {\n      id\n      command\n      target\n      isConsumed\n    }\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;