/** The toolkit's version, shown by `--version`, in SARIF output and in the ESLint plugin's meta. */
export const TOOLKIT_VERSION = '0.1.0';
