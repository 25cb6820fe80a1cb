import type { CodegenConfig } from '@graphql-codegen/cli';

// Types for the GraphQL operations written with graphql(`...`) in src/.
// The schema is the server's schema-first source in ../graph/schema.
const config: CodegenConfig = {
  schema: '../graph/schema/*.graphqls',
  documents: ['src/**/*.{ts,tsx}', '!src/gql/**/*'],
  ignoreNoDocuments: false,
  generates: {
    './src/gql/': {
      preset: 'client',
      presetConfig: {
        fragmentMasking: { unmaskFunctionName: 'getFragmentData' },
      },
      config: {
        useTypeImports: true,
        enumsAsTypes: true,
        defaultScalarType: 'unknown',
        scalars: {
          ID: { input: 'string', output: 'string' },
          Cursor: 'string',
          Time: 'string',
          DateTime: 'string',
          Int64: 'number',
          Uint64: 'number',
          Map: 'Record<string, unknown>',
          JSON: 'unknown',
        },
      },
    },
  },
};

export default config;
