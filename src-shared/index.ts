export * from './api';
export * from './backend-report';
export * from './config';
export * from './errors';
export * from './types';
export * from './validate';
