// Prints the plain closing line "tests: N passed, N failed, N skipped" that CI reads. A test file that
// failed to run at all (a syntax error, a failing beforeAll with no test reached) counts as a failure.
class SummaryReporter {
  onRunComplete(_contexts, results) {
    const failedFiles = results.testResults.filter((r) => r.testExecError && r.numFailingTests === 0).length;
    const passed = results.numPassedTests;
    const failed = results.numFailedTests + failedFiles;
    const skipped = results.numPendingTests + results.numTodoTests;
    process.stdout.write(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
module.exports = SummaryReporter;
