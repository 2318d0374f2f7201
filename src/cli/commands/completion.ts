import type { CommandModule } from 'yargs';
import type { CliContext } from '../context.js';

/** Scripts that ask `runbox` itself for completions (yargs' --get-yargs-completions). */
const SCRIPTS = {
  bash: `# runbox completion for bash: add to ~/.bashrc
#   source <(runbox completion bash)
_runbox_completions() {
  local IFS=$'\\n'
  COMPREPLY=($(compgen -W "$(runbox --get-yargs-completions "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null)" -- "\${COMP_WORDS[COMP_CWORD]}"))
}
complete -o bashdefault -o default -F _runbox_completions runbox
`,
  zsh: `#compdef runbox
# runbox completion for zsh: add to ~/.zshrc
#   source <(runbox completion zsh)
_runbox() {
  local -a reply
  reply=("\${(@f)$(runbox --get-yargs-completions "\${(@)words[2,CURRENT]}" 2>/dev/null)}")
  _describe 'runbox' reply
  _files
}
compdef _runbox runbox
`,
};

export function completionCommand(ctx: CliContext, setCode: (code: number) => void): CommandModule {
  return {
    command: 'completion [shell]',
    describe: 'Print a shell completion script (bash or zsh)',
    builder: (y) =>
      y.positional('shell', { choices: ['bash', 'zsh'] as const, default: 'bash' as const }),
    handler: (raw) => {
      const { shell } = raw as unknown as { shell: keyof typeof SCRIPTS };
      ctx.io.stdout.write(SCRIPTS[shell]);
      setCode(0);
    },
  };
}
