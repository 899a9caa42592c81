/** Scan and repair result types live in the contract, which every layer may read. */
export * from '../../contract/results.js';
