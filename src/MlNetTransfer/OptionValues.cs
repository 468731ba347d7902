using System.ComponentModel;
using System.Reflection;
using Spectre.Console.Cli;

namespace MlNetTransfer.Cli;

/// <summary>
/// Checks the values of the options that take a number or a name from a set before Spectre.Console.Cli binds them.
/// Spectre refuses <c>--epochs abc</c> with "Failed to convert 'abc' to Int32." and its usage code (255), naming
/// neither the option nor what it takes; here it is a bad option value (exit 8) that says both. The options and
/// their types are read from the commands' settings classes, so a new option is checked without an edit here, and
/// a value is converted as Spectre converts it (the type's converter, invariant culture): what passes here binds.
/// </summary>
public static class OptionValues
{
    static readonly Lazy<IReadOnlyDictionary<string, Type>> s_typed = new(Typed);

    /// <summary>The first option in <paramref name="args"/> whose value its type does not take, as a message naming
    /// the option, what it takes and the value; null when every value converts.</summary>
    public static string? Problem(IReadOnlyList<string> args)
    {
        for (int i = 0; i < args.Count; i++)
        {
            if (args[i] == "--") break; // what follows is not options
            var (name, value) = args[i].StartsWith("--") && args[i].IndexOfAny(['=', ':']) is > 2 and var at
                ? (args[i][..at], args[i][(at + 1)..])
                : (args[i], i + 1 < args.Count ? args[i + 1] : null);
            if (value == null || !s_typed.Value.TryGetValue(name, out var type) || Converts(type, value)) continue;
            return $"{name}: must be {Expected(type)}, not '{value}'.";
        }
        return null;
    }

    static bool Converts(Type type, string value)
    {
        try
        {
            TypeDescriptor.GetConverter(type).ConvertFromInvariantString(value);
            return true;
        }
        catch (Exception e) when (e is FormatException or ArgumentException or OverflowException or NotSupportedException
            || e.InnerException is FormatException or OverflowException)
        {
            return false;
        }
    }

    static string Expected(Type type) =>
        type.IsEnum ? $"one of {string.Join(", ", Enum.GetNames(type))}"
        : type == typeof(double) || type == typeof(float) ? "a number (such as 0.001 or 1e-3)"
        : $"a whole number (at most {Convert.ToString(type.GetField("MaxValue")!.GetValue(null), System.Globalization.CultureInfo.InvariantCulture)})";

    /// <summary>Every long option name of a number or enum type, over all settings classes.</summary>
    static IReadOnlyDictionary<string, Type> Typed()
    {
        var typed = new Dictionary<string, Type>(StringComparer.Ordinal);
        var settings = typeof(OptionValues).Assembly.GetTypes().Where(t => t.IsSubclassOf(typeof(CommandSettings)));
        foreach (var property in settings.SelectMany(t => t.GetProperties(BindingFlags.Public | BindingFlags.Instance)))
        {
            if (property.GetCustomAttribute<CommandOptionAttribute>() is not { } option) continue;
            var type = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            if (!type.IsEnum && !(type.IsPrimitive && type != typeof(bool) && type != typeof(char))) continue;
            foreach (var name in option.LongNames.Select(n => "--" + n))
                if (typed.TryGetValue(name, out var other) && other != type)
                    throw new InvalidOperationException($"{name} is a {other.Name} in one command and a {type.Name} in another");
                else typed[name] = type;
        }
        return typed;
    }
}
