// Starts `gmm lsp` for .gmm files. The binary is `gmm` on the PATH, or the setting gmm.path.
const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const command = vscode.workspace.getConfiguration("gmm").get("path") || "gmm";
  client = new LanguageClient(
    "gmm",
    "gmm language server",
    { command, args: ["lsp"] },
    { documentSelector: [{ scheme: "file", language: "gmm" }] }
  );
  client.start();
  context.subscriptions.push({ dispose: () => client && client.stop() });
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
