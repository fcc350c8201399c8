using System.Reflection;
using System.Text.Json;
using Xunit.Abstractions;

namespace EmbedSharp.Tests.Conformance;

/// <summary>Runs the EmbeddingBag and optimizer cases of <c>torch_errors.json</c> against scenarios written for our API.</summary>
internal static class SparseErrorCases
{
    /// <summary>What our API does with one case.</summary>
    internal abstract record ErrorScenario;

    /// <summary>We reject the input: the action must throw the case's suggested exception type (or a subclass) with an op-prefixed message.</summary>
    internal sealed record Rejects(Action Act) : ErrorScenario;

    /// <summary>We accept the input (torch accepts it too, or we deliberately support it); the check returns null when our result is right.</summary>
    internal sealed record Accepts(Func<string?> Check, string Note) : ErrorScenario;

    public const string File = "torch_errors.json";

    public static void Run(ITestOutputHelper output, string label, Func<string, bool> selects, IReadOnlyDictionary<string, ErrorScenario> scenarios)
    {
        using JsonDocument doc = ConformanceFiles.Load(File);
        var report = new ConformanceReport($"{File} ({label})", output);
        int selected = 0;
        foreach (JsonElement c in doc.RootElement.GetProperty("cases").EnumerateArray())
        {
            string name = c.GetProperty("name").GetString()!;
            if (!selects(name))
                continue;
            selected++;
            report.Run(name, () =>
            {
                if (!scenarios.TryGetValue(name, out var scenario))
                    return "no scenario maps this case to our API";
                bool torchRaises = c.GetProperty("raises").GetBoolean();
                string suggested = c.GetProperty("suggested_csharp_exception").GetString()!;
                switch (scenario)
                {
                    case Rejects r:
                        return CheckRejects(r.Act, suggested);
                    case Accepts a:
                        string? failure = a.Check();
                        if (failure is null && torchRaises)
                            output.WriteLine($"{File}: {name} accepted by design ({a.Note})");
                        return failure;
                    default:
                        return "unknown scenario";
                }
            });
        }
        Assert.True(selected == scenarios.Count, $"{scenarios.Count} scenarios but {selected} cases selected: a scenario names no case");
        report.Finish();
    }

    private static string? CheckRejects(Action act, string suggested)
    {
        Type expected = suggested.Split(' ')[0] switch
        {
            "ArgumentOutOfRangeException" => typeof(ArgumentOutOfRangeException),
            "NotSupportedException" => typeof(NotSupportedException),
            _ => typeof(ArgumentException),
        };
        try
        {
            act();
        }
        catch (Exception ex)
        {
            if (!expected.IsInstanceOfType(ex))
                return $"threw {ex.GetType().Name} ({ex.Message}), expected {expected.Name}";
            return ex.Message.StartsWith('[') ? null : $"message does not name the operation: {ex.Message}";
        }
        return $"did not throw (expected {expected.Name})";
    }

    /// <summary>
    /// For inputs the type system rules out (float indices, 2-D offsets, float64 weights): every public
    /// parameter of <paramref name="type"/> named <paramref name="parameter"/> has one of the allowed types.
    /// </summary>
    public static string? ParametersTyped(Type type, string parameter, params Type[] allowed)
    {
        int seen = 0;
        foreach (MethodBase m in type.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static).Cast<MethodBase>()
                     .Concat(type.GetConstructors()))
        {
            foreach (ParameterInfo p in m.GetParameters())
            {
                if (p.Name != parameter)
                    continue;
                seen++;
                Type t = p.ParameterType;
                if (!allowed.Contains(t))
                    return $"{type.Name}.{m.Name} takes {parameter} as {t.Name}";
            }
        }
        return seen > 0 ? null : $"no public member of {type.Name} takes {parameter}";
    }
}
