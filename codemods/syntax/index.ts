/**
 * Syntax helpers shared by the lint and the migrate codemod: the TypeScript compiler without
 * ts-morph's project model, value-preserving wrappers, and lexical scope resolution. This file is the folder's only door.
 * Nothing here loads ts-morph at run time, so the lint stays light.
 *
 * @packageDocumentation
 */
export { ts } from './typescript.js';
export {
  VALUE_PRESERVING_WRAPPER_KINDS,
  isValuePreservingWrapper,
  outermostWrapper,
  outermostWrapperOf,
  skipWrappers,
  unwrapExpression,
} from './wrappers.js';
export { bindingNames, findDeclaration, findDeclaredFunction, isShadowed } from './scope.js';
