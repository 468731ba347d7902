// The GLIBCXX_3.4.32 compatibility step for TorchSharp's native library (docs/torchsharp-on-debian.md).
//
// This one file is compiled twice: into MlNetTransfer.Estimators (which defines MLNETTRANSFER_ESTIMATORS, so the
// MSBuild task at the bottom is left out) for the `info` command and the tests, and by MSBuild's
// RoslynCodeTaskFactory from build/MlNetTransfer.Estimators.targets, where the task runs after every build and
// publish. It must therefore stay within what that factory compiles against (netstandard2.0, no System.Memory):
// plain arrays, manual little-endian reads, no records.
#nullable enable
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;

namespace MlNetTransfer.Native
{
    /// <summary>What a libLibTorchSharp.so needs, and whether the compatibility edit is in it.</summary>
    public enum LibTorchSharpCompatState
    {
        /// <summary>The library asks for no GLIBCXX_3.4.32 at all; nothing to do on any system.</summary>
        NotNeeded,
        /// <summary>The stock library: it needs GLIBCXX_3.4.32 and fails to load where libstdc++ lacks it.</summary>
        Stock,
        /// <summary>The edit is in place: the version need is weak and no symbol is bound to it.</summary>
        Applied,
    }

    /// <summary>
    /// Reads and edits the one thing that stops stock TorchSharp 0.107 from loading on glibc++ 3.4.30 systems:
    /// <c>_ZSt21ios_base_library_initv@GLIBCXX_3.4.32</c>. GCC 13 emits that reference from &lt;iostream&gt;; on
    /// GCC 12's runtime there is no work for it to do. The edit marks the GLIBCXX_3.4.32 need weak
    /// (<c>vna_flags |= VER_FLG_WEAK</c>), binds the symbol to the base version (<c>.gnu.version</c> = 1) and renames
    /// it in place in <c>.dynstr</c> to a libc function that takes no argument, so the reference resolves to a harmless
    /// target. Nothing else in the file changes.
    /// </summary>
    public static class LibTorchSharpCompat
    {
        public const string RequiredVersion = "GLIBCXX_3.4.32";
        public const string RequiredSymbol = "_ZSt21ios_base_library_initv";
        public const string ReplacementSymbol = "sched_yield";

        const uint ShtStrtab = 3, ShtDynamic = 6, ShtDynsym = 11;
        const uint ShtGnuVerdef = 0x6ffffffd, ShtGnuVerneed = 0x6ffffffe, ShtGnuVersym = 0x6fffffff;
        const ushort VerFlgWeak = 0x2, VerNdxGlobal = 1;

        /// <summary>One byte range the edit changes, for reports and tests.</summary>
        public sealed class Edit
        {
            public Edit(string what, long offset, byte[] before, byte[] after)
            {
                What = what; Offset = offset; Before = before; After = after;
            }
            public string What { get; }
            public long Offset { get; }
            public byte[] Before { get; }
            public byte[] After { get; }
        }

        /// <summary>The library's state and, for a stock library, the edits that make it load everywhere.</summary>
        public sealed class Analysis
        {
            public Analysis(LibTorchSharpCompatState state, IReadOnlyList<Edit> edits)
            {
                State = state; Edits = edits;
            }
            public LibTorchSharpCompatState State { get; }
            public IReadOnlyList<Edit> Edits { get; }
        }

        /// <summary>Reads <paramref name="elf"/> and says what it needs; throws <see cref="InvalidDataException"/>
        /// naming <paramref name="name"/> when it is not a 64-bit little-endian ELF shared library with dynamic
        /// symbol versioning, or when the edit could not be made safely.</summary>
        public static Analysis Analyze(byte[] elf, string name)
        {
            var image = new ElfImage(elf, name);
            var dynstr = image.Section(ShtDynsym).Link;
            var verneed = image.SectionOrNull(ShtGnuVerneed);
            if (verneed == null)
                return new Analysis(LibTorchSharpCompatState.NotNeeded, Array.Empty<Edit>());

            long auxOffset = -1;
            ushort flags = 0, index = 0;
            foreach (var aux in image.VersionNeeds(verneed))
            {
                if (image.String(dynstr, aux.NameOffset) != RequiredVersion) continue;
                auxOffset = aux.Offset; flags = aux.Flags; index = aux.Index;
            }
            if (auxOffset < 0)
                return new Analysis(LibTorchSharpCompatState.NotNeeded, Array.Empty<Edit>());

            var versym = image.Section(ShtGnuVersym);
            var bound = image.DynamicSymbols()
                .Where(s => (image.U16(versym.Offset + 2 * s.Index) & 0x7fff) == index)
                .ToList();
            if ((flags & VerFlgWeak) != 0 && bound.Count == 0)
                return new Analysis(LibTorchSharpCompatState.Applied, Array.Empty<Edit>());

            var wrong = bound.Where(s => s.SectionIndex != 0 || image.String(dynstr, s.NameOffset) != RequiredSymbol).ToList();
            if (bound.Count != 1 || wrong.Count != 0)
                throw new InvalidDataException(
                    $"{name}: {RequiredVersion} is needed by {string.Join(", ", bound.Select(s => image.String(dynstr, s.NameOffset)))}; " +
                    $"the compatibility edit only knows how to neutralise the single undefined symbol {RequiredSymbol}. " +
                    "This TorchSharp build needs a newer libstdc++ (GCC 13 or later).");

            var symbol = bound[0];
            long nameStart = dynstr.Offset + symbol.NameOffset;
            int nameLength = Encoding.ASCII.GetByteCount(RequiredSymbol) + 1;
            EnsureNameNotShared(image, dynstr, symbol, nameLength, name);

            var newName = new byte[nameLength];
            Encoding.ASCII.GetBytes(ReplacementSymbol, 0, ReplacementSymbol.Length, newName, 0);
            var edits = new List<Edit>
            {
                Change(elf, "vna_flags of " + RequiredVersion, auxOffset + 4, Le16((ushort)(flags | VerFlgWeak))),
                Change(elf, ".gnu.version of " + RequiredSymbol, versym.Offset + 2 * symbol.Index, Le16(VerNdxGlobal)),
                Change(elf, ".dynstr name " + RequiredSymbol + " -> " + ReplacementSymbol, nameStart, newName),
            };
            return new Analysis(LibTorchSharpCompatState.Stock, edits);
        }

        /// <summary>Returns a patched copy of <paramref name="elf"/> (the input is left untouched), or the input
        /// itself when there is nothing to do.</summary>
        public static byte[] Apply(byte[] elf, string name, out Analysis analysis)
        {
            analysis = Analyze(elf, name);
            if (analysis.State != LibTorchSharpCompatState.Stock) return elf;
            var patched = (byte[])elf.Clone();
            foreach (var edit in analysis.Edits)
                Buffer.BlockCopy(edit.After, 0, patched, (int)edit.Offset, edit.After.Length);
            return patched;
        }

        /// <summary>Patches the file at <paramref name="path"/> in place, atomically: the new bytes go to a
        /// sibling temporary file that then replaces it, so a hard link to the NuGet cache is never written through
        /// and a crash never leaves a half-written library. The file keeps its modification time, so MSBuild's
        /// incremental copy does not replace it with the stock file on the next build.</summary>
        public static Analysis ApplyToFile(string path)
        {
            var original = File.ReadAllBytes(path);
            var patched = Apply(original, path, out var analysis);
            if (ReferenceEquals(patched, original)) return analysis;

            var stamp = File.GetLastWriteTimeUtc(path);
            var temp = path + ".tmp-" + Guid.NewGuid().ToString("N");
            try
            {
                File.WriteAllBytes(temp, patched);
                File.Replace(temp, path, null);
            }
            finally
            {
                if (File.Exists(temp)) File.Delete(temp);
            }
            File.SetLastWriteTimeUtc(path, stamp);
            return analysis;
        }

        /// <summary>The build's decision: <c>auto</c> edits only where the system libstdc++ lacks
        /// <see cref="RequiredVersion"/>; <c>true</c> always; <c>false</c> never.</summary>
        public static bool IsWanted(string mode, bool systemHasRequiredVersion)
        {
            switch (mode)
            {
                case "true": return true;
                case "false": return false;
                case "auto": return !systemHasRequiredVersion;
                default: throw new ArgumentException($"MlNetTransferPatchLibTorchSharp must be auto, true or false, not '{mode}'.", nameof(mode));
            }
        }

        /// <summary>Reads the state of the library at <paramref name="path"/>.</summary>
        public static LibTorchSharpCompatState Inspect(string path) => Analyze(File.ReadAllBytes(path), path).State;

        // The in-place rename is only safe when no other reference points into the bytes it rewrites
        // (ELF linkers share string tails, e.g. "foo" inside "barfoo").
        static void EnsureNameNotShared(ElfImage image, ElfImage.SectionInfo dynstr, ElfImage.Symbol symbol, int length, string name)
        {
            long start = symbol.NameOffset, end = symbol.NameOffset + length;
            var others = image.DynamicSymbols().Where(s => s.Index != symbol.Index).Select(s => (long)s.NameOffset);
            var verneed = image.SectionOrNull(ShtGnuVerneed);
            if (verneed != null) others = others.Concat(image.VersionNeedNameOffsets(verneed));
            var verdef = image.SectionOrNull(ShtGnuVerdef);
            if (verdef != null) others = others.Concat(image.VersionDefinitionNameOffsets(verdef));
            var dynamic = image.SectionOrNull(ShtDynamic);
            if (dynamic != null) others = others.Concat(image.DynamicStringOffsets(dynamic));
            var clash = others.FirstOrDefault(o => o >= start && o < end && o != 0);
            if (clash != 0)
                throw new InvalidDataException($"{name}: the .dynstr bytes of {RequiredSymbol} are shared with another name at offset {clash}; refusing to rename in place.");
            if (dynstr.Type != ShtStrtab)
                throw new InvalidDataException($"{name}: .dynsym's string table is not a STRTAB section.");
        }

        static Edit Change(byte[] elf, string what, long offset, byte[] after)
        {
            var before = new byte[after.Length];
            Buffer.BlockCopy(elf, (int)offset, before, 0, after.Length);
            return new Edit(what, offset, before, after);
        }

        static byte[] Le16(ushort value) => new[] { (byte)value, (byte)(value >> 8) };
    }

    /// <summary>The libstdc++ this process (and so the app that loads TorchSharp) resolves, and the GLIBCXX
    /// versions it defines.</summary>
    public static class SystemLibStdCpp
    {
        static readonly string[] WellKnownDirectories =
        {
            "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/usr/lib", "/lib",
        };

        /// <summary>The path of the libstdc++.so.6 mapped into this process (the dotnet host links it, so MSBuild
        /// and every app see the one the dynamic loader picks), else the first found in the usual directories.</summary>
        public static string? Locate()
        {
            try
            {
                if (File.Exists("/proc/self/maps"))
                {
                    foreach (var line in File.ReadLines("/proc/self/maps"))
                    {
                        var slash = line.IndexOf('/');
                        if (slash < 0) continue;
                        var path = line.Substring(slash).Trim();
                        if (Path.GetFileName(path).StartsWith("libstdc++.so", StringComparison.Ordinal) && File.Exists(path))
                            return path;
                    }
                }
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
            return WellKnownDirectories.Select(d => Path.Combine(d, "libstdc++.so.6")).FirstOrDefault(File.Exists);
        }

        /// <summary>The version names (GLIBCXX_*, CXXABI_*) that the library at <paramref name="path"/> defines.</summary>
        public static IReadOnlyCollection<string> DefinedVersions(string path)
        {
            var image = new ElfImage(File.ReadAllBytes(path), path);
            var verdef = image.SectionOrNull(0x6ffffffd);
            if (verdef == null) return Array.Empty<string>();
            return image.VersionDefinitionNameOffsets(verdef).Select(o => image.String(verdef.Link, (uint)o)).ToList();
        }

        /// <summary>Whether the system libstdc++ defines <see cref="LibTorchSharpCompat.RequiredVersion"/>; false
        /// when no libstdc++ can be found (then the edit is the safe choice).</summary>
        public static bool HasRequiredVersion(out string? path)
        {
            path = Locate();
            return path != null && DefinedVersions(path).Contains(LibTorchSharpCompat.RequiredVersion);
        }
    }

    /// <summary>Just enough of an ELF64 little-endian reader for the sections the compatibility edit touches.</summary>
    internal sealed class ElfImage
    {
        internal sealed class SectionInfo
        {
            public uint Type; public long Offset; public long Size; public int LinkIndex; public long EntrySize;
            public SectionInfo Link = null!;
        }

        internal struct Symbol { public int Index; public uint NameOffset; public ushort SectionIndex; }

        internal struct VersionNeedAux { public long Offset; public ushort Flags; public ushort Index; public uint NameOffset; }

        readonly byte[] _bytes;
        readonly string _name;
        readonly List<SectionInfo> _sections = new List<SectionInfo>();

        public ElfImage(byte[] bytes, string name)
        {
            _bytes = bytes; _name = name;
            if (bytes.Length < 64 || bytes[0] != 0x7f || bytes[1] != (byte)'E' || bytes[2] != (byte)'L' || bytes[3] != (byte)'F')
                throw Bad("not an ELF file");
            if (bytes[4] != 2 || bytes[5] != 1)
                throw Bad("not a 64-bit little-endian ELF file");
            long shoff = (long)U64(0x28);
            int shentsize = U16(0x3a), shnum = U16(0x3c);
            if (shoff <= 0 || shentsize < 64 || shnum == 0 || shoff + (long)shentsize * shnum > bytes.Length)
                throw Bad("section header table missing or truncated");
            for (int i = 0; i < shnum; i++)
            {
                long h = shoff + (long)i * shentsize;
                var s = new SectionInfo
                {
                    Type = U32(h + 4), Offset = (long)U64(h + 24), Size = (long)U64(h + 32),
                    LinkIndex = (int)U32(h + 40), EntrySize = (long)U64(h + 56),
                };
                if (s.Type != 8 /* NOBITS */ && s.Offset + s.Size > bytes.Length)
                    throw Bad($"section {i} runs past the end of the file");
                _sections.Add(s);
            }
            foreach (var s in _sections)
                s.Link = s.LinkIndex < _sections.Count ? _sections[s.LinkIndex] : _sections[0];
        }

        public SectionInfo? SectionOrNull(uint type) => _sections.FirstOrDefault(s => s.Type == type);

        public SectionInfo Section(uint type) =>
            SectionOrNull(type) ?? throw Bad($"no section of type 0x{type:x} (a shared library with versioned dynamic symbols was expected)");

        public IEnumerable<Symbol> DynamicSymbols()
        {
            var dynsym = Section(11);
            long entry = dynsym.EntrySize == 0 ? 24 : dynsym.EntrySize;
            for (int i = 0; i < dynsym.Size / entry; i++)
            {
                long at = dynsym.Offset + i * entry;
                yield return new Symbol { Index = i, NameOffset = U32(at), SectionIndex = U16(at + 6) };
            }
        }

        public IEnumerable<VersionNeedAux> VersionNeeds(SectionInfo verneed)
        {
            long need = verneed.Offset;
            while (true)
            {
                int count = U16(need + 2);
                long aux = need + U32(need + 8);
                for (int a = 0; a < count; a++)
                {
                    yield return new VersionNeedAux { Offset = aux, Flags = U16(aux + 4), Index = U16(aux + 6), NameOffset = U32(aux + 8) };
                    uint nextAux = U32(aux + 12);
                    if (nextAux == 0) break;
                    aux += nextAux;
                }
                uint next = U32(need + 12);
                if (next == 0) break;
                need += next;
            }
        }

        public IEnumerable<long> VersionNeedNameOffsets(SectionInfo verneed)
        {
            long need = verneed.Offset;
            while (true)
            {
                yield return U32(need + 4); // vn_file
                uint next = U32(need + 12);
                if (next == 0) break;
                need += next;
            }
            foreach (var aux in VersionNeeds(verneed)) yield return aux.NameOffset;
        }

        public IEnumerable<long> VersionDefinitionNameOffsets(SectionInfo verdef)
        {
            long def = verdef.Offset;
            while (true)
            {
                int count = U16(def + 6);
                long aux = def + U32(def + 12);
                for (int a = 0; a < count; a++)
                {
                    yield return U32(aux);
                    uint nextAux = U32(aux + 4);
                    if (nextAux == 0) break;
                    aux += nextAux;
                }
                uint next = U32(def + 16);
                if (next == 0) break;
                def += next;
            }
        }

        /// <summary>d_val of the DT_NEEDED, DT_SONAME, DT_RPATH and DT_RUNPATH entries: offsets into .dynstr.</summary>
        public IEnumerable<long> DynamicStringOffsets(SectionInfo dynamic)
        {
            for (long at = dynamic.Offset; at + 16 <= dynamic.Offset + dynamic.Size; at += 16)
            {
                ulong tag = U64(at);
                if (tag == 0) yield break;
                if (tag == 1 || tag == 14 || tag == 15 || tag == 29) yield return (long)U64(at + 8);
            }
        }

        public string String(SectionInfo table, uint offset)
        {
            long start = table.Offset + offset, end = start;
            if (offset >= table.Size) throw Bad($"string offset {offset} outside its table");
            while (end < table.Offset + table.Size && _bytes[end] != 0) end++;
            return Encoding.ASCII.GetString(_bytes, (int)start, (int)(end - start));
        }

        public ushort U16(long at) { Check(at, 2); return (ushort)(_bytes[at] | _bytes[at + 1] << 8); }

        public uint U32(long at) { Check(at, 4); return (uint)(_bytes[at] | _bytes[at + 1] << 8 | _bytes[at + 2] << 16 | _bytes[at + 3] << 24); }

        public ulong U64(long at) => U32(at) | (ulong)U32(at + 4) << 32;

        void Check(long at, int size)
        {
            if (at < 0 || at + size > _bytes.Length) throw Bad($"read at offset {at} past the end of the file");
        }

        InvalidDataException Bad(string what) => new InvalidDataException($"{_name}: {what}.");
    }

#if !MLNETTRANSFER_ESTIMATORS
    /// <summary>The MSBuild side: patches libLibTorchSharp.so copies in a build or publish output folder.</summary>
    public sealed class PatchLibTorchSharp : Microsoft.Build.Utilities.Task
    {
        /// <summary>The copies in the output folder (never the NuGet cache).</summary>
        [Microsoft.Build.Framework.Required]
        public Microsoft.Build.Framework.ITaskItem[] Files { get; set; } = Array.Empty<Microsoft.Build.Framework.ITaskItem>();

        /// <summary>auto: only when the system libstdc++ lacks GLIBCXX_3.4.32; true: always; false: never.</summary>
        public string Mode { get; set; } = "auto";

        public override bool Execute()
        {
            var mode = (Mode ?? "auto").Trim().ToLowerInvariant();
            string? libstdcpp = null;
            var systemHasVersion = mode == "auto" && SystemLibStdCpp.HasRequiredVersion(out libstdcpp);
            bool wanted;
            try
            {
                wanted = LibTorchSharpCompat.IsWanted(mode, systemHasVersion);
            }
            catch (ArgumentException e)
            {
                Log.LogError(e.Message.Split('\n')[0].Replace(" (Parameter 'mode')", ""));
                return false;
            }
            if (!wanted)
            {
                Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Normal, mode == "false"
                    ? "MlNetTransfer: MlNetTransferPatchLibTorchSharp=false; libLibTorchSharp.so left as shipped."
                    : $"MlNetTransfer: {libstdcpp} has {LibTorchSharpCompat.RequiredVersion}; libLibTorchSharp.so left as shipped.");
                return true;
            }
            var reason = mode == "true" ? "MlNetTransferPatchLibTorchSharp=true"
                : $"{libstdcpp ?? "the system libstdc++ (not found)"} lacks {LibTorchSharpCompat.RequiredVersion}";
            foreach (var item in Files)
            {
                var path = Path.GetFullPath(item.ItemSpec);
                if (!File.Exists(path)) continue;
                try
                {
                    var analysis = LibTorchSharpCompat.ApplyToFile(path);
                    if (analysis.State == LibTorchSharpCompatState.Stock)
                        Log.LogMessage(Microsoft.Build.Framework.MessageImportance.High,
                            $"MlNetTransfer: patched {path} ({reason}): {LibTorchSharpCompat.RequiredVersion} need made weak, " +
                            $"{LibTorchSharpCompat.RequiredSymbol} now binds to {LibTorchSharpCompat.ReplacementSymbol}; {analysis.Edits.Count} fields changed.");
                    else
                        Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Normal,
                            $"MlNetTransfer: {path} is {analysis.State}; nothing to do.");
                }
                catch (InvalidDataException e)
                {
                    Log.LogError(e.Message);
                }
            }
            return !Log.HasLoggedErrors;
        }
    }
#endif
}
