using System.CommandLine;
using EmbedSharp.Cli.Output;

namespace EmbedSharp.Cli.Commands;

/// <summary><c>embedsharp kg ...</c>: knowledge-graph embeddings (train, evaluate, predict).</summary>
internal static class KgCommand
{
    public static Command Create(IConsole console) => new("kg", "Knowledge-graph embeddings: train TransE, DistMult, ComplEx or RotatE on head<TAB>relation<TAB>tail files, evaluate filtered ranks, predict.\n\nExamples:\n  embedsharp kg train data/umls --model complex --out umls.safetensors\n  embedsharp kg evaluate umls.safetensors --test data/umls/test.txt --filter data/umls/train.txt data/umls/valid.txt --json\n  embedsharp kg predict umls.safetensors alga isa\n  embedsharp kg sage data/umls --batch-size 64 --epochs 20")
    {
        KgTrainCommand.Create(console),
        KgEvaluateCommand.Create(console),
        KgPredictCommand.Create(console),
        KgNode2VecCommand.Create(console),
        KgSageCommand.Create(console),
    };
}
