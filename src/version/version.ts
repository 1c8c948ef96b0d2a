/** The package version, shown by `--version`, in SARIF output and in the ESLint plugin's meta. */
export const VERSION = '0.1.0';
